// JSON Forms asks Ajv whether data meets a schema: for a UI schema rule's condition (show a
// field when another has some value), and to match the branch of an object combinator. Ajv
// compiles schemas to code with `new Function`, which the app's Content-Security-Policy forbids
// (script-src 'self', no 'unsafe-eval'). @cfworker/json-schema interprets schemas instead, so
// this stands in for Ajv with the two calls JSON Forms makes (compile and validate). The form's
// own checks are the server's (the same schema, jsonschema in Python); see SchemaForm.vue.
import type { JsonFormsCore } from "@jsonforms/core";
import { Validator, type Schema } from "@cfworker/json-schema";

type Ajv = NonNullable<JsonFormsCore["ajv"]>;
type Check = ((data: unknown) => boolean) & { errors: unknown[] | null };

export function evalFreeAjv(): Ajv {
  const compiled = new WeakMap<object, Check>();

  function compile(schema: object): Check {
    const known = compiled.get(schema);
    if (known) return known;
    const validator = new Validator(schema as Schema, "2020-12", false);
    const check = ((data: unknown) => {
      const result = validator.validate(data);
      check.errors = result.valid
        ? null
        : result.errors.map((e) => ({
            instancePath: e.instanceLocation.replace(/^#/, ""),
            schemaPath: e.keywordLocation,
            keyword: e.keyword,
            params: {},
            message: e.error,
          }));
      return result.valid;
    }) as Check;
    check.errors = null;
    compiled.set(schema, check);
    return check;
  }

  const validate = (schema: object | boolean, data: unknown): boolean =>
    typeof schema === "boolean" ? schema : compile(schema)(data);
  return { compile, validate } as unknown as Ajv;
}
