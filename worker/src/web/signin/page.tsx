/**
 * Renders a sign-in/account page in the site's Layout. (Awaits the JSX node's string: the Layout is an async
 * component, whose node renders to a Promise<string>, so it is resolved here before the doctype is prepended.)
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../../env";
import { Layout, type LayoutProps } from "../layout";

export async function page(
  c: Context<AppEnv>,
  props: Omit<LayoutProps, "c" | "children">,
  body: Child,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  const node = (
    <Layout {...props} c={c}>
      {body}
    </Layout>
  );
  const html = await node.toString();
  return c.html(`<!doctype html>${html}`, status);
}
