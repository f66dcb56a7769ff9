/**
 * The API reference page (`/api/docs`): the OpenAPI document rendered server-side in the site's layout, one table
 * per tag (method, path, what it does, who may call it, its parameters and answers). No script: the CSP of
 * web/security.ts applies.
 */
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { renderPage } from "../web/layout";

type Json = Record<string, any>;

const METHODS = ["get", "head", "post", "put", "delete"];

interface Row {
  method: string;
  path: string;
  op: Json;
}

function rowsByTag(doc: Json): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const tag = (op.tags?.[0] as string | undefined) ?? "other";
      if (!out.has(tag)) out.set(tag, []);
      out.get(tag)!.push({ method, path, op });
    }
  }
  return out;
}

/** A description's `code` spans as <code> (the operations' texts use Markdown backticks, nothing else). */
function Text({ text }: { text: string }) {
  return <>{text.split("`").map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part))}</>;
}

function Parameters({ op }: { op: Json }) {
  const params = (op.parameters ?? []) as Json[];
  const body = op.requestBody?.content ? Object.keys(op.requestBody.content as Json) : [];
  if (params.length === 0 && body.length === 0) return null;
  return (
    <div class="small muted">
      {params.map((p) => (
        <span>
          <code>{p.in === "query" ? `?${p.name}` : `{${p.name}}`}</code>{" "}
        </span>
      ))}
      {body.length > 0 ? <span>body: {body.join(", ")}</span> : null}
    </div>
  );
}

function Answers({ op }: { op: Json }) {
  const responses = op.responses as Record<string, Json>;
  return (
    <ul class="small">
      {Object.entries(responses).map(([status, r]) => (
        <li>
          <code>{status}</code> <Text text={r.description as string} />
          {r.content ? <span class="muted"> ({Object.keys(r.content as Json).join(", ")})</span> : null}
        </li>
      ))}
    </ul>
  );
}

export function referencePage(c: Context<AppEnv>, doc: Json): Promise<Response> {
  const tags = rowsByTag(doc);
  return renderPage(
    c,
    { title: "API reference", mainClass: "wide" },
    <>
      <h1>API reference</h1>
      <p>
        <Text text={doc.info.description as string} /> The machine-readable contract: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI{" "}
        {doc.openapi}). Routes marked <span class="badge">token</span> need <code>Authorization: bearer &lt;token&gt;</code>.
      </p>
      <nav class="small">
        {[...tags.keys()].map((tag, i) => (
          <>
            {i > 0 ? " · " : null}
            <a href={`#${tag.replace(/\W+/g, "-")}`}>{tag}</a>
          </>
        ))}
      </nav>
      {[...tags].map(([tag, rows]) => (
        <section>
          <h2 id={tag.replace(/\W+/g, "-")}>{tag}</h2>
          <div class="table-wrap">
            <table aria-label={`${tag} operations`}>
              <thead>
                <tr>
                  <th>Method</th>
                  <th>Path</th>
                  <th>What</th>
                  <th>Answers</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ method, path, op }) => (
                  <tr id={op.operationId}>
                    <td class="mono">{method.toUpperCase()}</td>
                    <td class="mono">
                      {path} {(op.security as unknown[]).length > 0 ? <span class="badge">token</span> : null}
                    </td>
                    <td>
                      <Text text={op.summary as string} />
                      <Parameters op={op} />
                    </td>
                    <td>
                      <Answers op={op} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ))}
    </>,
  );
}
