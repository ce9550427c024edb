/**
 * An OpenAI Chat Completions request body, as the guard accepts it: the roles, content parts and
 * fields of OpenAI's API (openai-node's `ChatCompletionCreateParams`), matched exactly. Which of
 * its texts the model reads is chat-texts.ts's job. No HTTP here.
 *
 * Whatever the schema does not know is refused, never skipped or passed on: a role spelled
 * "User" or "user ", an `input_text` part, `content: null` where OpenAI requires content, an
 * empty `messages`, and any unknown field at any level (an OpenAI-compatible server may read
 * fields OpenAI does not have, such as vLLM's `chat_template` or `documents`, and the guard would
 * not have checked them). Images, audio and files cannot be checked by a text model, so parts
 * that carry them are refused too (`unsupported_content`) rather than forwarded unchecked.
 *
 * Which fields are text the model reads (scored, see chat-texts.ts): every message's content (string, text parts,
 * refusal parts), `name`, `refusal`, tool calls (id, name, arguments or custom input), the
 * deprecated `function_call`, a tool message's `tool_call_id`; the definitions in `tools` and
 * `functions` (name, description, JSON parameters, custom grammar), the names in `tool_choice`
 * and `function_call`, `response_format`'s JSON schema (name, description, schema),
 * `prediction`'s content and the free-text location of `web_search_options`. JSON (parameters,
 * schemas, tool call arguments) is scored as a whole and each string value inside it alone. Not
 * scored, because the model never reads them, but bounded and checked for lone surrogates:
 * `model`, `user`, `safety_identifier`, `prompt_cache_key`, `metadata`, `stop`, the audio voice,
 * and the enums, numbers and booleans.
 */
import { z } from 'zod';
import { MAX_TEXT_CHARS, refuseLoneSurrogate } from './limits.ts';

/** Longest string the model does not read (`model`, `user`, `stop` entries, ids of voices). */
const MAX_FIELD_CHARS = 512;
/** Deepest nesting of a JSON value inside the body (tool parameters, a response schema). */
export const MAX_JSON_DEPTH = 64;

/** A text the model reads: may be empty, at most MAX_TEXT_CHARS, well-formed Unicode. */
const Text = z.string().max(MAX_TEXT_CHARS).superRefine(refuseLoneSurrogate);
/** A string the model does not read. */
const Field = (max = MAX_FIELD_CHARS) => z.string().max(max).superRefine(refuseLoneSurrogate);

/** Walks a JSON value without recursion (a 1 MiB body can nest far deeper than the stack). */
function checkJson(value: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  const strings: string[] = [];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') strings.push(value);
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_JSON_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `nested deeper than ${MAX_JSON_DEPTH} levels` });
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      strings.push(key);
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  for (const text of strings) refuseLoneSurrogate(text, ctx as z.core.$RefinementCtx<string>);
  const length = JSON.stringify(value).length;
  if (length > MAX_TEXT_CHARS) {
    ctx.addIssue({
      code: 'too_big',
      origin: 'string',
      maximum: MAX_TEXT_CHARS,
      inclusive: true,
      input: value,
      message: `longer than ${MAX_TEXT_CHARS} characters as JSON`,
    });
  }
}

/** A JSON object the model reads as a whole (a JSON schema): scored as its JSON text. */
const JsonObject = z.record(z.string(), z.unknown()).superRefine(checkJson);

/** A value in an error message: short, and never a deep structure serialised whole. */
const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return JSON.stringify(typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…` : value);
};

/** `must be one of 'a', 'b' (got "c")`, for a discriminated union whose `key` matches no option. */
const oneOf = (key: string, values: readonly string[]) => (issue: z.core.$ZodRawIssue) => {
  if (issue.code !== 'invalid_union' || typeof issue.input !== 'object' || issue.input === null) return undefined;
  return `must be one of ${values.map((v) => `'${v}'`).join(', ')} (got ${show((issue.input as Record<string, unknown>)[key])})`;
};

/** A part the guard cannot read: refused whatever its shape, naming what it is. */
const Unsupported = <T extends string>(type: T, what: string) =>
  z.looseObject({ type: z.literal(type) }).superRefine((_, ctx) => {
    ctx.addIssue({
      code: 'custom',
      message: `${type} parts cannot be checked: EdgeGuard moderates text, so ${what} are refused rather than forwarded unchecked; send text only`,
      params: { code: 'unsupported_content' },
    });
  });

const CacheBreakpoint = z.strictObject({ mode: z.literal('explicit'), ttl: z.enum(['30m', '12h']).optional() });
const TextPart = z.strictObject({ type: z.literal('text'), text: Text, prompt_cache_breakpoint: CacheBreakpoint.optional() });
const RefusalPart = z.strictObject({ type: z.literal('refusal'), refusal: Text });

/** A string, or an array of at least one `part`. */
const content = <T extends z.ZodType>(part: T) =>
  z.union([Text, z.array(part).min(1, 'must hold at least one part')], {
    error: (issue) =>
      issue.code === 'invalid_union' ? `must be a string or an array of content parts (got ${show(issue.input)})` : undefined,
  });
const TextContent = content(z.discriminatedUnion('type', [TextPart], { error: oneOf('type', ['text']) }));
const USER_PARTS = ['text', 'image_url', 'input_audio', 'file'] as const;
const UserPart = z.discriminatedUnion(
  'type',
  [TextPart, Unsupported('image_url', 'images'), Unsupported('input_audio', 'audio inputs'), Unsupported('file', 'files')],
  { error: oneOf('type', USER_PARTS) },
);
const AssistantPart = z.discriminatedUnion('type', [TextPart, RefusalPart], { error: oneOf('type', ['text', 'refusal']) });

const FunctionCall = z.strictObject({ name: Text, arguments: Text });
const ToolCall = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ id: Text, type: z.literal('function'), function: FunctionCall }),
    z.strictObject({ id: Text, type: z.literal('custom'), custom: z.strictObject({ name: Text, input: Text }) }),
  ],
  { error: oneOf('type', ['function', 'custom']) },
);

const SystemMessage = z.strictObject({ role: z.literal('system'), content: TextContent, name: Text.optional() });
const DeveloperMessage = z.strictObject({ role: z.literal('developer'), content: TextContent, name: Text.optional() });
const UserMessage = z.strictObject({ role: z.literal('user'), content: content(UserPart), name: Text.optional() });
const AssistantMessage = z
  .strictObject({
    role: z.literal('assistant'),
    content: content(AssistantPart).nullable().optional(),
    refusal: Text.nullable().optional(),
    name: Text.optional(),
    tool_calls: z.array(ToolCall).min(1, 'must hold at least one tool call').optional(),
    function_call: FunctionCall.nullable().optional(),
    // a reference to an earlier spoken answer: audio the guard cannot read
    audio: z
      .unknown()
      .superRefine((audio, ctx) => {
        if (audio !== null)
          ctx.addIssue({
            code: 'custom',
            message: 'an earlier audio answer cannot be checked: EdgeGuard moderates text; send its transcript as content',
            params: { code: 'unsupported_content' },
          });
      })
      .optional(),
  })
  .superRefine((message, ctx) => {
    if (message.content == null && message.refusal == null && !message.tool_calls && !message.function_call) {
      ctx.addIssue({
        code: 'custom',
        path: ['content'],
        message: 'an assistant message needs content, a refusal, tool_calls or function_call',
      });
    }
  });
const ToolMessage = z.strictObject({ role: z.literal('tool'), content: TextContent, tool_call_id: Text });
const FunctionMessage = z.strictObject({ role: z.literal('function'), content: Text.nullable(), name: Text });

/** The roles of OpenAI's Chat Completions API, exactly (`function` is deprecated, still accepted). */
export const CHAT_ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;
const Message = z.discriminatedUnion(
  'role',
  [SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage, FunctionMessage],
  {
    error: oneOf('role', CHAT_ROLES),
  },
);

const FunctionDefinition = z.strictObject({
  name: Text,
  description: Text.optional(),
  parameters: JsonObject.optional(),
  strict: z.boolean().nullable().optional(),
});
const CustomFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('grammar'), grammar: z.strictObject({ definition: Text, syntax: z.enum(['lark', 'regex']) }) }),
]);
const Tool = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('function'), function: FunctionDefinition }),
    z.strictObject({
      type: z.literal('custom'),
      custom: z.strictObject({ name: Text, description: Text.optional(), format: CustomFormat.optional() }),
    }),
  ],
  { error: oneOf('type', ['function', 'custom']) },
);
const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('allowed_tools'),
      allowed_tools: z.strictObject({ mode: z.enum(['auto', 'required']), tools: z.array(JsonObject) }),
    }),
    z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: Text }) }),
    z.strictObject({ type: z.literal('custom'), custom: z.strictObject({ name: Text }) }),
  ]),
]);
const ResponseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: Text,
      description: Text.optional(),
      schema: JsonObject.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);
const Location = z.strictObject({
  type: z.literal('approximate'),
  approximate: z.strictObject({ city: Text.optional(), country: Text.optional(), region: Text.optional(), timezone: Text.optional() }),
});
const ModerationMode = z
  .strictObject({ mode: z.enum(['score', 'block']) })
  .nullable()
  .optional();

const number = z.number().nullable().optional();
const boolean = z.boolean().nullable().optional();

/**
 * The request body of `POST /v1/chat/completions` (openai-node's `ChatCompletionCreateParams`),
 * strict at every level. `model` is optional here: an OpenAI-compatible upstream that needs it
 * says so itself.
 * @example ChatRequestSchema.parse({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
 */
export const ChatRequestSchema = z.strictObject({
  model: Field().optional(),
  messages: z.array(Message).min(1, 'must hold at least one message'),
  audio: z
    .strictObject({
      format: z.enum(['wav', 'aac', 'mp3', 'flac', 'opus', 'pcm16']),
      voice: z.union([Field(), z.strictObject({ id: Field() })]),
    })
    .nullable()
    .optional(),
  frequency_penalty: number,
  function_call: z.union([z.enum(['none', 'auto']), z.strictObject({ name: Text })]).optional(),
  functions: z.array(z.strictObject({ name: Text, description: Text.optional(), parameters: JsonObject.optional() })).optional(),
  logit_bias: z.record(Field(64), z.number()).nullable().optional(),
  logprobs: boolean,
  max_completion_tokens: number,
  max_tokens: number,
  metadata: z
    .record(Field(64), Field(512))
    .refine((metadata) => Object.keys(metadata).length <= 16, 'must hold at most 16 pairs')
    .nullable()
    .optional(),
  modalities: z
    .array(z.enum(['text', 'audio']))
    .nullable()
    .optional(),
  moderation: z
    .strictObject({ model: Field(), policy: z.strictObject({ input: ModerationMode, output: ModerationMode }).nullable().optional() })
    .nullable()
    .optional(),
  n: number,
  parallel_tool_calls: z.boolean().optional(),
  prediction: z
    .strictObject({ type: z.literal('content'), content: TextContent })
    .nullable()
    .optional(),
  presence_penalty: number,
  prompt_cache_key: Field().nullable().optional(),
  prompt_cache_options: z.strictObject({ mode: z.enum(['implicit', 'explicit']).optional(), ttl: z.literal('30m').optional() }).optional(),
  prompt_cache_retention: z.enum(['in_memory', '24h']).nullable().optional(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional(),
  response_format: ResponseFormat.optional(),
  safety_identifier: Field().nullable().optional(),
  seed: number,
  service_tier: z.enum(['auto', 'default', 'flex', 'scale', 'priority', 'fast']).nullable().optional(),
  stop: z
    .union([Field(), z.array(Field())])
    .nullable()
    .optional(),
  store: boolean,
  stream: boolean,
  stream_options: z
    .strictObject({ include_obfuscation: z.boolean().optional(), include_usage: z.boolean().optional() })
    .nullable()
    .optional(),
  temperature: number,
  tool_choice: ToolChoice.optional(),
  tools: z.array(Tool).optional(),
  top_logprobs: number,
  top_p: number,
  user: Field().optional(),
  verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
  web_search_options: z
    .strictObject({ search_context_size: z.enum(['low', 'medium', 'high']).optional(), user_location: Location.nullable().optional() })
    .optional(),
});

/** A validated chat completion request: what the guard checked, and all the upstream may get. */
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** A content part of a validated message (image, audio and file parts never validate). */
export type ChatContentPart = z.infer<typeof UserPart> | z.infer<typeof AssistantPart>;
