// Vite's ?raw imports (fixture files read as text), for the type checker.
declare module "*?raw" {
  const text: string;
  export default text;
}
