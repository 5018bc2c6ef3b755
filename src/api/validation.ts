import { Ajv, type AnySchema } from "ajv";
import type { FastifySchemaCompiler } from "fastify";
import { badRequest } from "./errors.js";
import { SHARED_SCHEMAS } from "./schemas.js";

/**
 * Bodies are validated strictly: no type coercion, no silently dropped fields. Query strings and
 * path parameters arrive as text: an integer among them must be written as a decimal integer
 * (digits, an optional minus sign, no leading zero, at most 16 digits) and is then checked
 * against its schema's range; `Infinity`, `1e400`, `0x10`, `1e1`, ` 1` and `1000.0` are refused
 * with a 400 (Ajv's own coercion takes all of them as numbers). Other text coerces as usual.
 */
const strictAjv = new Ajv({
  coerceTypes: false,
  removeAdditional: false,
  allErrors: false,
  strict: false,
});
const textAjv = new Ajv({
  coerceTypes: true,
  useDefaults: true,
  removeAdditional: false,
  strict: false,
});
for (const schema of SHARED_SCHEMAS) {
  strictAjv.addSchema(schema);
  textAjv.addSchema(schema);
}

const DECIMAL_INTEGER = /^(0|-?[1-9][0-9]{0,15})$/;

interface ObjectSchema {
  properties?: Record<string, { type?: string | string[] }>;
}

/** The names of the properties a schema types as integers (the ones to read strictly). */
function integerProperties(schema: unknown): string[] {
  const properties = (schema as ObjectSchema | undefined)?.properties ?? {};
  return Object.entries(properties)
    .filter(([, p]) => [p.type].flat().includes("integer"))
    .map(([name]) => name);
}

type Validation = { value: unknown } | { error: Error };

function textValidator(schema: AnySchema, part: string): (data: unknown) => Validation {
  const validate = textAjv.compile(schema);
  const integers = integerProperties(schema);
  const where = part === "querystring" ? "query parameter" : "path parameter";
  return (data) => {
    if (data && typeof data === "object") {
      const values = data as Record<string, unknown>;
      for (const name of integers) {
        const value = values[name];
        if (typeof value !== "string") continue;
        if (!DECIMAL_INTEGER.test(value))
          return { error: badRequest(`${where} ${name} must be a decimal integer`) };
        values[name] = Number(value);
      }
    }
    return validate(data) ? { value: data } : { error: validateError(validate.errors, part) };
  };
}

function validateError(
  errors: { instancePath: string; message?: string }[] | null | undefined,
  part: string,
): Error {
  const first = errors?.[0];
  return badRequest(`${part}${first?.instancePath ?? ""} ${first?.message ?? "is invalid"}`);
}

export const validatorCompiler: FastifySchemaCompiler<AnySchema> = ({ schema, httpPart }) => {
  if (httpPart === "querystring" || httpPart === "params") return textValidator(schema, httpPart);
  if (httpPart === "body") return strictAjv.compile(schema);
  return textAjv.compile(schema);
};

const transactionBody = strictAjv.getSchema("Transaction");

/**
 * Checks one transaction of a batch as POST /v1/transactions checks its body (the same schema,
 * strictly): undefined when it passes, else the 400 that route would answer, naming where.
 */
export function transactionBodyError(item: unknown, where: string): Error | undefined {
  if (!transactionBody) throw new Error("the Transaction schema is not registered");
  return transactionBody(item) ? undefined : validateError(transactionBody.errors, where);
}
