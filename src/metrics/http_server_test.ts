import assert from "node:assert/strict";
import { respond } from "./http_server.ts";

const render = (openMetrics: boolean) => openMetrics ? "open\n# EOF\n" : "text\n";

Deno.test("GET /metrics is the exposition, OpenMetrics when the Accept header asks for it", () => {
  assert.deepEqual(respond("GET /metrics HTTP/1.1\r\nHost: h", render), {
    status: "200 OK",
    type: "text/plain; version=0.0.4; charset=utf-8",
    body: "text\n",
  });
  const open = respond(
    "GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\nAccept: application/openmetrics-text;version=1.0.0",
    render,
  );
  assert.equal(open.status, "200 OK");
  assert.equal(open.type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  assert.equal(open.body, "open\n# EOF\n");
});

Deno.test("only GET of /metrics and / is answered: other methods 405, other paths 404, garbage 400", () => {
  assert.equal(respond("GET / HTTP/1.0", render).status, "200 OK");
  for (const method of ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"]) {
    const answer = respond(`${method} /metrics HTTP/1.1`, render);
    assert.equal(answer.status, "405 Method Not Allowed");
    assert.deepEqual(answer.extra, ["Allow: GET"]);
  }
  assert.equal(respond("GET /metrics/../etc HTTP/1.1", render).status, "404 Not Found");
  assert.equal(respond("GET http://h/metrics HTTP/1.1", render).status, "404 Not Found");
  for (const garbage of ["", "GET /metrics", "GET /metrics HTTP/2.0", "get /metrics HTTP/1.1"]) {
    assert.equal(respond(garbage, render).status, "400 Bad Request", garbage);
  }
});
