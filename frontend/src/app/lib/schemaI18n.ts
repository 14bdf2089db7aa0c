// A service's form in the reader's language. The city writes each field's title in English
// (`title`) and Chinese (`x-title-zh`), likewise a choice's title, a field's description
// (`x-description-zh`) and a group's label (`x-label-zh`). JSON Forms renders `title` and
// `label`, so the schema and UI schema are translated before rendering: the renderer never
// needs to know about the second language.
import type { Locale } from "../../shared/i18n";

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(value: Json): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pickText(node: JsonObject, key: string, zhKey: string, locale: Locale): JsonObject {
  const chinese = node[zhKey];
  if (locale === "zh-CN" && typeof chinese === "string" && chinese) return { ...node, [key]: chinese };
  return node;
}

/** The JSON Schema with every `title` and `description` in the reader's language. */
export function localizeSchema(schema: Json, locale: Locale): Json {
  if (Array.isArray(schema)) return schema.map((item) => localizeSchema(item, locale));
  if (!isObject(schema)) return schema;
  let node: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    // `const`, `enum` and `default` are data, never translated.
    node[key] = key === "const" || key === "enum" || key === "default" ? value : localizeSchema(value, locale);
  }
  node = pickText(node, "title", "x-title-zh", locale);
  node = pickText(node, "description", "x-description-zh", locale);
  return node;
}

/** The UI schema with every group's and label's text in the reader's language. */
export function localizeUiSchema(ui: Json, locale: Locale): Json {
  if (Array.isArray(ui)) return ui.map((item) => localizeUiSchema(item, locale));
  if (!isObject(ui)) return ui;
  const node: JsonObject = {};
  for (const [key, value] of Object.entries(ui)) node[key] = localizeUiSchema(value, locale);
  let out = pickText(node, "label", "x-label-zh", locale);
  out = pickText(out, "text", "x-text-zh", locale);
  return out;
}

/** A field's title in the reader's language (for lists of fields outside the form). */
export function fieldTitle(schema: Json, field: string, locale: Locale): string {
  const properties = isObject(schema) && isObject(schema.properties) ? schema.properties : {};
  const prop = properties[field];
  if (!isObject(prop)) return field;
  const chinese = prop["x-title-zh"];
  if (locale === "zh-CN" && typeof chinese === "string" && chinese) return chinese;
  return typeof prop.title === "string" && prop.title ? prop.title : field;
}

/** The top-level fields of a form schema, in their order. */
export function fieldsOf(schema: Json): string[] {
  return isObject(schema) && isObject(schema.properties) ? Object.keys(schema.properties) : [];
}

/** A chosen value's title (a `oneOf` choice) in the reader's language, or the value itself. */
export function valueTitle(schema: Json, field: string, value: Json, locale: Locale): string {
  const properties = isObject(schema) && isObject(schema.properties) ? schema.properties : {};
  const prop = properties[field];
  const choices = isObject(prop) && Array.isArray(prop.oneOf) ? prop.oneOf : [];
  for (const choice of choices) {
    if (isObject(choice) && choice.const === value) {
      const chinese = choice["x-title-zh"];
      if (locale === "zh-CN" && typeof chinese === "string" && chinese) return chinese;
      if (typeof choice.title === "string") return choice.title;
    }
  }
  if (typeof value === "boolean") return value ? "✓" : "✗";
  return value === null || value === undefined ? "" : Array.isArray(value) ? value.join(", ") : String(value);
}
