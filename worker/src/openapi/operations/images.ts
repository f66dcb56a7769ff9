/** The LXD/Incus image server (docs/images.md). */
import { z } from "zod";
import { flistNameSchema } from "../../names";
import { segmentSchema, versionSchema } from "../../images/names";
import { createVersionSchema } from "../../images/routes";
import { apiCreateSchema } from "../../images/resumable";
import {
  imageDeletedSchema,
  imageFileAnswerSchema,
  imageProductsSchema,
  imageUploadAbortedSchema,
  imageUploadCreatedSchema,
  imageUploadPartSchema,
  imageVersionSchema,
  lxdAnswerSchema,
  simplestreamsImagesSchema,
  simplestreamsIndexSchema,
} from "../../images/responses";
import { badName, converterFailed, error, jobStarted, notFound, unauthorized } from "../answers";
import type { Answer, Operation } from "../operation";

const tag = "images";
const key = { os: segmentSchema, release: segmentSchema, arch: segmentSchema, variant: segmentSchema, version: versionSchema };
const file = z.string().describe("`lxd.tar.xz`, `incus.tar.xz`, `rootfs.squashfs`, `metadata.json`, …");
const owned = { 400: badName, 401: unauthorized, 403: error("the image belongs to another repository") };

const served: Record<number, Answer> = {
  200: { description: "the file's bytes", media: ["application/octet-stream"] },
  206: { description: "the range asked for", media: ["application/octet-stream"] },
  304: { description: "not modified" },
  404: notFound,
  416: error("unsatisfiable range"),
};

const session = { 400: badName, 401: unauthorized, 404: error("no such upload"), 409: error("the upload is completed or aborted") };

export const imageOperations: Operation[] = [
  { method: "get", route: "/streams/v1/index.json", tag, summary: "simplestreams index", answers: { 200: { description: "the index", json: simplestreamsIndexSchema } } },
  { method: "get", route: "/streams/v1/images.json", tag, summary: "simplestreams products", answers: { 200: { description: "the products", json: simplestreamsImagesSchema } } },
  { method: "get", route: "/images/:os/:release/:arch/:variant/:version/:file", tag, summary: "An image file", params: { ...key, file }, answers: served },
  { method: "head", route: "/images/:os/:release/:arch/:variant/:version/:file", tag, summary: "An image file's headers", params: { ...key, file }, answers: served },
  {
    method: "get",
    route: "/api/images",
    tag,
    summary: "Every image product as JSON",
    query: { repository: { schema: segmentSchema, description: "only this repository's products" } },
    answers: { 200: { description: "the products", json: imageProductsSchema }, 400: badName },
  },
  {
    method: "post",
    route: "/images",
    tag,
    summary: "docker-simplestreams-server's upload (multipart field `upload`, filename = the item path)",
    auth: true,
    body: { "multipart/form-data": z.object({ upload: z.string().describe("the file; its filename is `<os>/<release>/<arch>/<variant>/<version>/<file>`") }) },
    bodyRequired: true,
    answers: { 200: { description: "the stored item", json: imageFileAnswerSchema }, ...owned, 413: error("file too large") },
  },
  {
    method: "post",
    route: "/api/images/versions",
    tag,
    summary: "Create an image version (and override its metadata)",
    auth: true,
    body: { "application/json": createVersionSchema },
    bodyRequired: true,
    answers: { 200: { description: "the version", json: imageVersionSchema }, ...owned },
  },
  {
    method: "put",
    route: "/api/images/:os/:release/:arch/:variant/:version/:file",
    tag,
    summary: "Upload one image file as the raw body",
    auth: true,
    params: { ...key, file },
    body: { "application/octet-stream": "binary" },
    bodyRequired: true,
    answers: { 200: { description: "the stored item", json: imageFileAnswerSchema }, ...owned, 411: error("Content-Length required"), 413: error("file too large") },
  },
  {
    method: "delete",
    route: "/api/images/:os/:release/:arch/:variant/:version",
    tag,
    summary: "Delete an image version",
    auth: true,
    params: key,
    answers: { 200: { description: "deleted", json: imageDeletedSchema }, ...owned, 404: notFound, 405: error("deletion not permitted on this hub") },
  },
  {
    method: "delete",
    route: "/api/images/:os/:release/:arch/:variant",
    tag,
    summary: "Delete an image product and all its versions",
    auth: true,
    params: { os: key.os, release: key.release, arch: key.arch, variant: key.variant },
    answers: { 200: { description: "deleted", json: imageDeletedSchema }, ...owned, 404: notFound, 405: error("deletion not permitted on this hub") },
  },
  {
    method: "post",
    route: "/api/images/uploads",
    tag,
    summary: "Open a resumable upload of a large image file",
    auth: true,
    body: { "application/json": apiCreateSchema },
    bodyRequired: true,
    answers: { 201: { description: "the session", json: imageUploadCreatedSchema }, ...session, 403: owned[403], 413: error("file too large") },
  },
  {
    method: "put",
    route: "/api/images/uploads/:id/:part",
    tag,
    summary: "Upload the next part (strictly in order)",
    auth: true,
    params: { part: z.string().regex(/^\d+$/) },
    body: { "application/octet-stream": "binary" },
    bodyRequired: true,
    answers: { 200: { description: "the part", json: imageUploadPartSchema }, ...session, 411: error("Content-Length required"), 413: error("part too large") },
  },
  {
    method: "post",
    route: "/api/images/uploads/:id/complete",
    tag,
    summary: "Record the image file",
    auth: true,
    answers: { 200: { description: "the stored item", json: imageFileAnswerSchema }, ...session },
  },
  {
    method: "delete",
    route: "/api/images/uploads/:id",
    tag,
    summary: "Abort an image upload",
    auth: true,
    answers: { 200: { description: "aborted", json: imageUploadAbortedSchema }, ...session },
  },
  {
    method: "post",
    route: "/api/flist/me/:name/lxd",
    tag,
    summary: "Convert my flist into an LXD image",
    auth: true,
    params: { name: flistNameSchema },
    query: { async: { schema: z.enum(["1", "true", "yes"]) } },
    answers: {
      200: { description: "the image written", json: lxdAnswerSchema },
      202: jobStarted,
      400: badName,
      401: unauthorized,
      404: notFound,
      422: converterFailed,
      500: converterFailed,
      502: error("the converter could not be reached"),
    },
  },
];
