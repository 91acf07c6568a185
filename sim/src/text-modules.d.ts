// HTML files imported as text: wrangler's default module rules bundle `*.html` as a string.
declare module "*.html" {
  const text: string;
  export default text;
}
