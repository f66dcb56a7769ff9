/** The service itself: health, the token routes, search, and this document (docs/auth.md, docs/openapi.md). */
import { z } from "zod";
import { successSchema } from "../../http/envelope";
import { userRevokeSchema } from "../../auth/routes";
import { revokedSchema, whoamiSchema } from "../../auth/responses";
import { healthDownSchema, healthUpSchema } from "../../health/responses";
import { searchResultsSchema } from "../../web/search/responses";
import { querySchema as searchQuerySchema } from "../../web/search/page";
import { badName, error, unauthorized } from "../answers";
import type { Operation } from "../operation";

export const serviceOperations: Operation[] = [
  { method: "get", route: "/api/health", tag: "service", summary: "Liveness", answers: { 200: { description: "up", json: successSchema } } },
  {
    method: "get",
    route: "/health",
    tag: "service",
    summary: "Readiness: D1, R2 and the converter checked (docs/operations.md)",
    answers: {
      200: { description: "every dependency answers", json: healthUpSchema },
      503: { description: "the failing dependencies, named in `message`", json: healthDownSchema },
    },
  },
  {
    method: "get",
    route: "/api/openapi.json",
    tag: "service",
    summary: "This document",
    answers: { 200: { description: "the OpenAPI 3.1 document", json: z.record(z.string(), z.unknown()) } },
  },
  {
    method: "get",
    route: "/api/search",
    tag: "service",
    summary: "Search repositories, names and readmes",
    query: Object.fromEntries(Object.entries(searchQuerySchema.shape).map(([k, schema]) => [k, { schema }])),
    answers: { 200: { description: "the hits", json: searchResultsSchema } },
  },
  {
    method: "get",
    route: "/api/flist/me",
    tag: "auth",
    summary: "Who am I: the acting repository of the token (and `active-user`)",
    auth: true,
    answers: { 200: { description: "the acting repository", json: whoamiSchema }, 401: unauthorized, 403: error("not a member of `active-user`") },
  },
  {
    method: "post",
    route: "/api/flist/me/tokens/revoke",
    tag: "auth",
    summary: "Revoke one of my tokens, or all of them",
    auth: true,
    body: { "application/json": userRevokeSchema },
    bodyRequired: true,
    answers: { 200: { description: "revoked", json: revokedSchema }, 400: badName, 401: unauthorized, 403: error("the token belongs to another user") },
  },
];
