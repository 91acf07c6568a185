// The one rendering of errors: the contract's JSON shape, and nothing of an unexpected error.
import { describe, expect, it } from "vitest";
import { ApiError, errorResponse } from "../src/errors";

describe("errorResponse", () => {
  it("renders a typed error as the contract's body, with its status and headers", async () => {
    const response = errorResponse(new ApiError(429, "rate_limited", "Slow down.", { "Retry-After": "60" }));
    expect(response.status).toBe(429);
    expect(response.headers.get("Retry-After")).toBe("60");
    expect(await response.json()).toEqual({ error: { code: "rate_limited", message: "Slow down." } });
  });

  it("turns any other error into a bare 500 that reveals neither its message nor its stack", async () => {
    const error = new Error("SELECT * FROM order_record failed near key=sim0key0for0local0dev0only000032");
    const response = errorResponse(error);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: "internal_error", message: "Internal error." } });
    expect(text).not.toContain("sim0key");
    expect(text).not.toContain("at ");
  });
});
