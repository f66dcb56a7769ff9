/**
 * The OpenAPI helpers of the contract tests: the real `@seriousme/openapi-schema-validator` (its 3.1 meta-schema
 * handed over as a binding, since workerd cannot read the package's folder), and ajv validators of the answers
 * an operation of the document declares.
 */
import { env } from "cloudflare:workers";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

/** The package's Validator with the 3.1 meta-schema compiled the way it compiles it (index.js getAjvValidator). */
export function openapiValidator(): Validator {
  const validator = new Validator();
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  ajv.addFormat("media-range", true);
  (validator as unknown as { ajvValidators: Record<string, unknown> }).ajvValidators["3.1"] = ajv.compile(env.TEST_OPENAPI_31_SCHEMA);
  return validator;
}

export type Doc = Record<string, any>;

/** A JSON schema of the document with its `#/components/...` references resolvable. */
export function answerValidator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "hub:openapi", components: doc.components }, "hub:openapi");
  const cache = new Map<string, ReturnType<typeof ajv.compile>>();
  return (key: string, schema: Doc) => {
    let validate = cache.get(key);
    if (!validate) {
      const fixed = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"hub:openapi#/components/'));
      validate = ajv.compile(fixed);
      cache.set(key, validate);
    }
    return validate;
  };
}
