/**
 * The hub's HTTP application: CORS on every response, JSON errors everywhere, then the route groups in
 * precedence order (static `/api/...` and `/internal/...` paths before the `/<repo>/<file>` downloads,
 * `/api/flist/me/...` before `/api/flist/<repo>/...`).
 */
import { Hono } from "hono";
import { authApi } from "./auth/routes";
import { chunkRoutes } from "./chunks/routes";
import { internalJobs } from "./jobs/internal-routes";
import { dockerRoutes } from "./docker/routes";
import { jobRoutes } from "./jobs/routes";
import { uploads } from "./uploads/routes";
import { images } from "./images/routes";
import type { AppEnv } from "./env";
import { cors } from "./http/cors";
import { drainRefused } from "./http/drain";
import { notFound, onError } from "./http/errors";
import { downloads } from "./catalog/routes/downloads";
import { internalPublish } from "./catalog/routes/internal-publish";
import { meApi } from "./catalog/routes/me-api";
import { publicApi } from "./catalog/routes/public-api";
import { web } from "./web";
import { openapiRoutes } from "./openapi/routes";
import { health } from "./health/routes";
import { observe } from "./observe/middleware";
import { requestCost } from "./cost/middleware";
import { downloadCounts } from "./catalog/routes/download-counts";

// strict: false — a trailing slash is optional everywhere, as in the original (Flask strict_slashes=False).
export const app = new Hono<AppEnv>({ strict: false });

// First: the request id, the request's log line and data point cover every answer (observe/middleware.ts).
app.use("*", observe());
// Then, with HUB_REQUEST_COST on, everything after it runs on counting bindings (cost/middleware.ts).
app.use("*", requestCost());
app.use("*", cors());
// A refused request's unread body is drained before the answer goes out, so its client sees the answer.
app.use("*", drainRefused());
app.notFound(notFound);
app.onError(onError);

app.get("/api/health", (c) => c.json({ status: "success" }));
app.route("/", health);
app.route("/", authApi);
app.route("/", internalPublish);
app.route("/", internalJobs);
app.route("/", jobRoutes);
app.route("/", chunkRoutes);
// Publishing routes before the generic `/me/<name>` patterns of meApi.
app.route("/api/flist/me", uploads);
app.route("/api/flist/me", dockerRoutes);
app.route("/api/flist/me", meApi);
app.route("/", downloadCounts);
app.route("/", publicApi);
// The API contract and its reference page (docs/openapi.md).
app.route("/", openapiRoutes);
// LXD/Incus image server (streams/v1, images/…, /api/images): before the website and `/<repo>/<file>`.
app.route("/", images);
// The website: after the API, before the `/<repo>/<file>` downloads (worker/src/web/index.ts).
app.route("/", web);
app.route("/", downloads);
