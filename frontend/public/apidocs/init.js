// Swagger UI over the server's own OpenAPI document; a file of its own, so the page's
// Content-Security-Policy needs no inline script.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Over 150 operations: the tags open one at a time (rendering them all at once stalls).
  docExpansion: "none",
  filter: true,
});
