// Conformance test of batchcall-sim against the official ElevenLabs JS SDK.
//
// The SDK (@elevenlabs/elevenlabs-js, pinned in package.json) validates every
// success response with its generated schemas and throws ParseError on a
// missing required key, a null in a non-nullable field or a wrong JSON type,
// so every SDK call below is itself a fidelity check.  Separately, raw fetch
// calls check the "every key present" rule of the API document
// (../shared/api/elevenlabs-batch-calling.md §1, §3) and the error bodies of §7,
// which the SDK does not look at.
//
// Environment:
//   BATCHCALL_SIM_URL  base URL of a running simulator (required),
//                      e.g. http://127.0.0.1:8080
//   BATCHCALL_SIM_KEY  the simulator's --api-key (default: conf-key)
//
// Simulated time is moved with the simulator's POST /_sim/advance; the test
// never sleeps to synchronise.

import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createRequire } from "node:module";
import { ElevenLabsClient, ElevenLabsError, ElevenLabs } from "@elevenlabs/elevenlabs-js";

const require = createRequire(import.meta.url);

const BASE = (process.env.BATCHCALL_SIM_URL ?? "").replace(/\/+$/, "");
if (!BASE) {
	throw new Error("BATCHCALL_SIM_URL is not set (base URL of a running batchcall-sim)");
}
const KEY = process.env.BATCHCALL_SIM_KEY ?? "conf-key";

const client = new ElevenLabsClient({ apiKey: KEY, baseUrl: BASE, maxRetries: 0, timeoutInSeconds: 30 });
const bc = client.conversationalAi.batchCalls;
const badClient = new ElevenLabsClient({
	apiKey: "definitely-not-the-key",
	baseUrl: BASE,
	maxRetries: 0,
	timeoutInSeconds: 30,
});

// Unique per run, so that the test also works against a simulator that has
// already served other runs.
const RUN = String(Date.now());
const PHONE_ID = "phnum_2301k5a8c4wz9r7tq6m3ne1ydvsb";
const agent = (tag) => `agent_conf${RUN}${tag}`;

// ---- the document's key sets ----------------------------------------------

// §3.4 BatchCallResponse: every key, in the document's order.
const BATCH_KEYS = [
	"id", "phone_number_id", "phone_provider", "whatsapp_params", "name", "agent_id",
	"branch_id", "environment", "created_at_unix", "scheduled_time_unix", "timezone",
	"total_calls_dispatched", "total_calls_scheduled", "total_calls_finished",
	"last_updated_at_unix", "status", "retry_count", "telephony_call_config",
	"target_concurrency_limit", "agent_name", "branch_name",
];
// §3.4 "Server-nullable: no".
const BATCH_NON_NULL = {
	id: "string", name: "string", agent_id: "string", created_at_unix: "int",
	scheduled_time_unix: "int", total_calls_dispatched: "int", total_calls_scheduled: "int",
	total_calls_finished: "int", last_updated_at_unix: "int", status: "string",
	retry_count: "int", telephony_call_config: "object", agent_name: "string",
};
// §3.4 "Server-nullable: yes".
const BATCH_NULLABLE = {
	phone_number_id: "string", phone_provider: "string", whatsapp_params: "object",
	branch_id: "string", environment: "string", timezone: "string",
	target_concurrency_limit: "int", branch_name: "string",
};
// §3.5 OutboundCallRecipientResponseModel.
const RECIPIENT_KEYS = [
	"id", "phone_number", "whatsapp_user_id", "status", "created_at_unix",
	"updated_at_unix", "conversation_id", "conversation_initiation_client_data",
];
const BATCH_STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled"];
const RECIPIENT_STATUSES = ["pending", "dispatched", "initiated", "in_progress",
	"completed", "failed", "cancelled", "voicemail"];
const TERMINAL = new Set(["completed", "failed", "cancelled", "voicemail"]);
const ACTIVE = new Set(["dispatched", "initiated", "in_progress"]);
const PROVIDERS = ["twilio", "sip_trunk", "exotel"];

function typeOk(v, t) {
	switch (t) {
	case "string": return typeof v === "string";
	case "int": return Number.isInteger(v);
	case "bool": return typeof v === "boolean";
	case "object": return v !== null && typeof v === "object" && !Array.isArray(v);
	default: throw new Error(`bad type ${t}`);
	}
}

function sorted(a) {
	return [...a].sort();
}

// Raw JSON of a BatchCallResponse (withRecipients: a BatchCallDetailedResponse).
function checkBatchJson(b, where, { withRecipients = false } = {}) {
	assert.ok(typeOk(b, "object"), `${where}: not an object`);
	const want = withRecipients ? [...BATCH_KEYS, "recipients"] : BATCH_KEYS;
	assert.deepEqual(sorted(Object.keys(b)), sorted(want), `${where}: key set differs from §3.4${withRecipients ? "/§3.5" : ""}`);
	for (const [k, t] of Object.entries(BATCH_NON_NULL)) {
		assert.ok(typeOk(b[k], t), `${where}: ${k} must be a non-null ${t}, got ${JSON.stringify(b[k])}`);
	}
	for (const [k, t] of Object.entries(BATCH_NULLABLE)) {
		assert.ok(b[k] === null || typeOk(b[k], t), `${where}: ${k} must be ${t} or null, got ${JSON.stringify(b[k])}`);
	}
	assert.ok(BATCH_STATUSES.includes(b.status), `${where}: status ${b.status}`);
	if (b.phone_provider !== null) {
		assert.ok(PROVIDERS.includes(b.phone_provider), `${where}: phone_provider ${b.phone_provider}`);
	}
	if (b.target_concurrency_limit !== null) {
		assert.ok(b.target_concurrency_limit >= 1, `${where}: target_concurrency_limit < 1`);
	}
	// §3.4: telephony_call_config is the effective config, defaults filled.
	const t = b.telephony_call_config;
	assert.ok(Number.isInteger(t.ringing_timeout_secs) && t.ringing_timeout_secs >= 1 && t.ringing_timeout_secs <= 999,
		`${where}: telephony_call_config.ringing_timeout_secs ${JSON.stringify(t.ringing_timeout_secs)}`);
	assert.equal(typeof t.twilio_call_recording_enabled, "boolean",
		`${where}: telephony_call_config.twilio_call_recording_enabled ${JSON.stringify(t.twilio_call_recording_enabled)}`);
	if (b.whatsapp_params !== null) {
		const w = b.whatsapp_params;
		assert.equal(typeof w.whatsapp_call_permission_request_template_name, "string", `${where}: whatsapp template name`);
		assert.equal(typeof w.whatsapp_call_permission_request_template_language_code, "string", `${where}: whatsapp template language`);
		assert.ok("whatsapp_phone_number_id" in w, `${where}: whatsapp_params.whatsapp_phone_number_id missing`);
	}
	assert.ok(b.last_updated_at_unix >= b.created_at_unix, `${where}: last_updated_at_unix < created_at_unix`);
	assert.ok(b.total_calls_dispatched <= b.total_calls_scheduled, `${where}: dispatched > scheduled`);
	assert.ok(b.total_calls_finished <= b.total_calls_scheduled, `${where}: finished > scheduled`);
	if (withRecipients) {
		assert.ok(Array.isArray(b.recipients), `${where}: recipients not an array`);
		b.recipients.forEach((r, i) => checkRecipientJson(r, `${where}.recipients[${i}]`));
	}
}

function checkRecipientJson(r, where) {
	assert.ok(typeOk(r, "object"), `${where}: not an object`);
	assert.deepEqual(sorted(Object.keys(r)), sorted(RECIPIENT_KEYS), `${where}: key set differs from §3.5`);
	assert.ok(typeOk(r.id, "string") && r.id.length > 0, `${where}: id`);
	assert.ok(RECIPIENT_STATUSES.includes(r.status), `${where}: status ${r.status}`);
	assert.ok(typeOk(r.created_at_unix, "int"), `${where}: created_at_unix`);
	assert.ok(typeOk(r.updated_at_unix, "int"), `${where}: updated_at_unix`);
	assert.ok(r.updated_at_unix >= r.created_at_unix, `${where}: updated_at_unix < created_at_unix`);
	for (const k of ["phone_number", "whatsapp_user_id", "conversation_id"]) {
		assert.ok(r[k] === null || typeOk(r[k], "string"), `${where}: ${k} ${JSON.stringify(r[k])}`);
	}
	assert.ok(r.conversation_initiation_client_data === null || typeOk(r.conversation_initiation_client_data, "object"),
		`${where}: conversation_initiation_client_data`);
}

function checkListJson(page, where) {
	assert.deepEqual(sorted(Object.keys(page)), ["batch_calls", "has_more", "next_doc"], `${where}: key set differs from §3.7`);
	assert.ok(Array.isArray(page.batch_calls), `${where}: batch_calls`);
	assert.equal(typeof page.has_more, "boolean", `${where}: has_more`);
	assert.ok(page.next_doc === null || typeof page.next_doc === "string", `${where}: next_doc`);
	page.batch_calls.forEach((b, i) => checkBatchJson(b, `${where}.batch_calls[${i}]`));
}

// §7.2 detail object.
function checkDetailObject(body, where, { type, status } = {}) {
	assert.ok(typeOk(body, "object") && typeOk(body.detail, "object"), `${where}: body.detail must be an object, got ${JSON.stringify(body)}`);
	const d = body.detail;
	for (const k of ["type", "code", "message", "status", "request_id"]) {
		assert.ok(k in d, `${where}: detail.${k} missing (${JSON.stringify(d)})`);
	}
	for (const k of ["type", "message", "status", "request_id"]) {
		assert.equal(typeof d[k], "string", `${where}: detail.${k} must be a string`);
	}
	assert.ok(d.code === null || typeof d.code === "string", `${where}: detail.code`);
	if (type !== undefined) assert.equal(d.type, type, `${where}: detail.type`);
	if (status !== undefined) assert.equal(d.status, status, `${where}: detail.status`);
}

// §7.1 FastAPI 422 body; returns the item matching loc.
function check422Body(body, where) {
	assert.ok(typeOk(body, "object") && Array.isArray(body.detail) && body.detail.length >= 1,
		`${where}: 422 body must be {"detail":[...]}, got ${JSON.stringify(body)}`);
	assert.deepEqual(Object.keys(body), ["detail"], `${where}: 422 body keys`);
	for (const [i, it] of body.detail.entries()) {
		for (const k of ["type", "loc", "msg", "input"]) {
			assert.ok(k in it, `${where}: detail[${i}].${k} missing (${JSON.stringify(it)})`);
		}
		assert.equal(typeof it.type, "string", `${where}: detail[${i}].type`);
		assert.equal(typeof it.msg, "string", `${where}: detail[${i}].msg`);
		assert.ok(Array.isArray(it.loc) && it.loc.length >= 1, `${where}: detail[${i}].loc`);
		assert.ok(["body", "query", "path"].includes(it.loc[0]), `${where}: detail[${i}].loc[0] ${it.loc[0]}`);
		for (const l of it.loc) {
			assert.ok(typeof l === "string" || Number.isInteger(l), `${where}: detail[${i}].loc element ${JSON.stringify(l)}`);
		}
	}
	return body.detail;
}

function findLoc(items, loc) {
	const it = items.find((x) => JSON.stringify(x.loc) === JSON.stringify(loc));
	assert.ok(it, `no 422 item at loc ${JSON.stringify(loc)} in ${JSON.stringify(items).slice(0, 2000)}`);
	return it;
}

// ---- transport helpers ------------------------------------------------------

async function raw(method, path, { body, rawBody, key = KEY, headers = {} } = {}) {
	const h = { ...headers };
	if (key !== null) h["xi-api-key"] = key;
	let b;
	if (rawBody !== undefined) {
		b = rawBody;
		h["content-type"] ??= "application/json";
	} else if (body !== undefined) {
		b = JSON.stringify(body);
		h["content-type"] = "application/json";
	}
	const res = await fetch(BASE + path, { method, headers: h, body: b, signal: AbortSignal.timeout(30000) });
	const text = await res.text();
	let json;
	try {
		json = text === "" ? undefined : JSON.parse(text);
	} catch {
		json = undefined;
	}
	return { status: res.status, headers: res.headers, text, json };
}

async function rawOk(method, path, opts) {
	const r = await raw(method, path, opts);
	assert.equal(r.status, 200, `${method} ${path}: status ${r.status}, body ${r.text.slice(0, 500)}`);
	assert.match(r.headers.get("content-type") ?? "", /^application\/json\b/, `${method} ${path}: content-type`);
	assert.notEqual(r.json, undefined, `${method} ${path}: body is not JSON: ${r.text.slice(0, 200)}`);
	return r.json;
}

async function advance(seconds) {
	const r = await raw("POST", "/_sim/advance", { body: { seconds } });
	assert.ok(r.status >= 200 && r.status < 300, `/_sim/advance: status ${r.status} ${r.text}`);
}

// Expect an SDK call to fail with an HTTP status; returns the error.
async function sdkError(promise, statusCode, where) {
	let err;
	try {
		const v = await promise;
		assert.fail(`${where}: expected HTTP ${statusCode}, got success ${JSON.stringify(v).slice(0, 300)}`);
	} catch (e) {
		err = e;
	}
	if (err instanceof assert.AssertionError) throw err;
	assert.ok(err instanceof ElevenLabsError, `${where}: expected ElevenLabsError, got ${err?.name}: ${err?.message}`);
	assert.equal(err.statusCode, statusCode, `${where}: statusCode (body ${JSON.stringify(err.body)})`);
	if (statusCode === 422) {
		assert.ok(err instanceof ElevenLabs.UnprocessableEntityError, `${where}: 422 must be UnprocessableEntityError`);
	}
	return err;
}

async function streamText(data) {
	if (typeof data === "string") return data;
	if (data && typeof data.getReader === "function") return await new Response(data).text();
	if (data && typeof data[Symbol.asyncIterator] === "function") {
		const chunks = [];
		for await (const c of data) chunks.push(typeof c === "string" ? Buffer.from(c) : Buffer.from(c));
		return Buffer.concat(chunks).toString("utf8");
	}
	if (data && typeof data.text === "function") return await data.text();
	throw new Error(`export returned ${Object.prototype.toString.call(data)}`);
}

// Poll the batch, moving simulated time, until pred(detail) holds.
// onEach(detail) sees every intermediate state.
async function advanceUntil(id, pred, { step = 0.02, deadlineMs = 60000, onEach } = {}) {
	const end = Date.now() + deadlineMs;
	for (;;) {
		const d = await bc.get(id);
		if (onEach) onEach(d);
		if (pred(d)) return d;
		assert.ok(Date.now() < end, `batch ${id} did not reach the expected state in ${deadlineMs} ms (status ${d.status}, recipients ${d.recipients.map((r) => r.status).join(",")})`);
		await advance(step);
	}
}

function phones(n, base = 14155550100) {
	return Array.from({ length: n }, (_, i) => `+${base + i}`);
}

// A far-future start so a batch stays pending whatever else moves the clock.
const FAR = Math.floor(Date.now() / 1000) + 365 * 86400;

// Per-test time limit (node's --test-timeout is newer than Debian 12's node 18).
const T = { timeout: 120000 };

// ---- submit ----------------------------------------------------------------

test("the SDK in use is the pinned one", () => {
	const want = require("./package.json").dependencies["@elevenlabs/elevenlabs-js"];
	assert.equal(want, "2.73.0");
	assert.equal(require("@elevenlabs/elevenlabs-js/package.json").version, want);
});

// ---- conversations (../shared/api/elevenlabs-conversations-and-webhooks.md) -----
// These come first: the SDK checks a webhook's t against the real clock, so
// the stale-timestamp case means something only while the simulated clock
// has not been advanced far (later tests advance it by more than an hour).

const conv = client.conversationalAi.conversations;

// §3.1 GetConversationResponseModel and §3.3 metadata: every key the
// document lists, as the simulator writes them (null where empty).
const CONV_KEYS = [
	"agent_id", "agent_name", "conversation_id", "status", "user_id", "branch_id", "version_id",
	"environment", "transcript", "metadata", "analysis", "conversation_initiation_client_data",
	"has_audio", "has_user_audio", "has_response_audio", "has_auxiliary_audio", "visited_agents",
	"tag_ids", "conversation_product", "otlp_traces",
];
const META_KEYS = [
	"start_time_unix_secs", "accepted_time_unix_secs", "call_duration_secs", "queue_wait_secs", "cost",
	"cost_fiat", "termination_reason", "error", "warnings", "main_language",
	"conversation_initiation_source", "timezone", "phone_call", "batch_call",
];
const CONV_STATUSES = ["initiated", "in-progress", "processing", "done", "failed"];

function checkConvJson(c, where) {
	assert.deepEqual(sorted(Object.keys(c)), sorted(CONV_KEYS), `${where}: key set differs from §3.1`);
	assert.deepEqual(sorted(Object.keys(c.metadata)), sorted(META_KEYS), `${where}: metadata keys differ from §3.3`);
	assert.ok(CONV_STATUSES.includes(c.status), `${where}: status ${c.status}`);
	assert.ok(Array.isArray(c.transcript), `${where}: transcript`);
	for (const k of ["has_audio", "has_user_audio", "has_response_audio", "has_auxiliary_audio"]) {
		assert.equal(typeof c[k], "boolean", `${where}: ${k}`);
	}
	assert.ok(Number.isInteger(c.metadata.start_time_unix_secs) && Number.isInteger(c.metadata.call_duration_secs),
		`${where}: start time and duration`);
	assert.equal(c.analysis === null, c.status !== "done", `${where}: analysis is null exactly until done`);
	if (c.analysis) {
		assert.ok(["success", "failure", "unknown"].includes(c.analysis.call_successful), `${where}: call_successful`);
		assert.equal(typeof c.analysis.transcript_summary, "string", `${where}: transcript_summary`);
	}
}

test("conversations: get through every status and list with cursor and filters, parsed by the SDK", T, async () => {
	const tag = agent("conv");
	const numbers = ["+14155550500", "+14155550566", "+14155550577", "+14155550589"];
	const b = await bc.create({
		callName: "conversations", agentId: tag, agentPhoneNumberId: PHONE_ID, timezone: "America/New_York",
		recipients: numbers.map((p, i) => ({
			id: `conf-conv-${i}`, phoneNumber: p,
			conversationInitiationClientData: { dynamicVariables: i === 0 ? { user_name: "Alice", vip: true } : { row: i } },
		})),
	});
	// every status each conversation goes through, each read by the SDK
	const seen = numbers.map(() => []);
	const final = new Map();
	const end = Date.now() + 60000;
	for (;;) {
		const d = await bc.get(b.id);
		let moving = false;
		for (const [i, r] of d.recipients.entries()) {
			if (!r.conversationId) continue;
			const c = await conv.get(r.conversationId);
			if (seen[i].at(-1) !== c.status) seen[i].push(c.status);
			if (c.status === "done" || c.status === "failed") final.set(i, c);
			moving ||= c.status === "in-progress" || c.status === "processing";
		}
		if (final.size === numbers.length) break;
		assert.ok(Date.now() < end, `conversations not finished: ${JSON.stringify(seen)}`);
		// while a call talks or is processed, let the real clock move it
		// (polled closely), so its short phases are seen
		if (!moving) await advance(0.01);
	}
	// each raw body has every key (the SDK alone would accept absent ones)
	for (const [i, c] of final) {
		const j = await rawOk("GET", `/v1/convai/conversations/${c.conversationId}`);
		checkConvJson(j, `conversation ${i}`);
		assert.deepEqual(j.metadata.batch_call, { batch_call_id: b.id, batch_call_recipient_id: `conf-conv-${i}`, campaign: null });
		assert.equal(j.metadata.phone_call.external_number, numbers[i]);
		assert.equal(j.metadata.timezone, "America/New_York");
	}
	// answered calls went initiated -> in-progress -> processing -> done
	// (a poll may miss a short phase at --speed 50, never reorder them)
	const rank = (st) => CONV_STATUSES.indexOf(st);
	for (const [i, st] of seen.entries()) {
		assert.deepEqual(st, [...st].sort((x, y) => rank(x) - rank(y)), `conversation ${i} went back: ${st}`);
	}
	assert.ok([0, 2, 3].some((i) => seen[i].includes("processing")),
		`an answered call is read while processing: ${JSON.stringify(seen)}`);
	// the analysis rule of docs/simulator.md
	const a0 = final.get(0);
	assert.equal(a0.status, "done");
	assert.equal(a0.analysis.callSuccessful, "success");
	assert.equal(a0.analysis.transcriptSummary, "Alice agreed to the proposal.");
	assert.equal(a0.analysis.dataCollectionResults.customer_name.value, "Alice");
	assert.equal(a0.analysis.evaluationCriteriaResults.goal_achieved.result, "success");
	assert.equal(a0.metadata.phoneCall.callResult, "answered");
	assert.equal(a0.metadata.callDurationSecs, 5);
	assert.equal(a0.conversationInitiationClientData.dynamicVariables.user_name, "Alice");
	assert.equal(a0.conversationInitiationClientData.dynamicVariables.vip, true);
	const f1 = final.get(1);
	assert.equal(f1.status, "failed");
	assert.equal(f1.metadata.phoneCall.callResult, "no_answer");
	assert.equal(f1.analysis, undefined);
	assert.deepEqual(final.get(2).metadata.phoneCall.callResult, "voicemail");
	assert.equal(final.get(2).analysis.callSuccessful, "failure");
	assert.equal(final.get(3).analysis.callSuccessful, "unknown");
	assert.equal(final.get(3).metadata.callDurationSecs, 15);
	assert.equal(final.get(3).transcript.length, 5);

	// list: pages of 3, newest first (same start: the last recipient first)
	const ids = [];
	let cursor;
	let pages = 0;
	for (;;) {
		const p = await conv.list({ agentId: tag, pageSize: 3, cursor, summaryMode: "include" });
		const jp = await rawOk("GET", `/v1/convai/conversations?agent_id=${tag}&page_size=3&summary_mode=include${cursor ? `&cursor=${cursor}` : ""}`);
		assert.deepEqual(sorted(Object.keys(jp)), ["conversations", "has_more", "next_cursor"]);
		ids.push(...p.conversations.map((c) => c.conversationId));
		pages++;
		if (!p.hasMore) {
			assert.equal(jp.next_cursor, null);
			break;
		}
		cursor = p.nextCursor;
	}
	assert.equal(pages, 2);
	assert.deepEqual(ids, [3, 2, 1, 0].map((i) => final.get(i).conversationId));
	const ok = await conv.list({ agentId: tag, callSuccessful: "success" });
	assert.deepEqual(ok.conversations.map((c) => c.conversationId), [final.get(0).conversationId]);
	assert.equal(ok.conversations[0].messageCount, 3);
	assert.equal((await conv.list({ agentId: tag, callSuccessful: "error" })).conversations.length, 0);

	// errors: 404 body, 422 through the SDK
	const e = await sdkError(conv.get("conv_0000000000000000000000000000"), 404, "unknown conversation");
	checkDetailObject(e.body, "unknown conversation", { type: "not_found", status: "conversation_not_found" });
	await sdkError(conv.list({ pageSize: 0 }), 422, "page_size 0");
	await sdkError(conv.get(final.get(0).conversationId, {}, { queryParams: { format: "xml" } }), 422, "format xml");
	await sdkError(badClient.conversationalAi.conversations.get(final.get(0).conversationId), 401, "wrong key");
});

// A local receiver: every POST with its raw body and signature header.
async function receiver() {
	const got = [];
	const srv = http.createServer((req, res) => {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => {
			got.push({ raw: Buffer.concat(chunks).toString("utf8"), sig: req.headers["elevenlabs-signature"], path: req.url });
			res.writeHead(200, { "content-length": "0" });
			res.end();
		});
	});
	await new Promise((ok) => srv.listen(0, "127.0.0.1", ok));
	return { got, url: `http://127.0.0.1:${srv.address().port}/el-hook`, close: () => new Promise((ok) => srv.close(ok)) };
}

test("webhooks: client.webhooks.constructEvent accepts what the simulator delivers, and refuses its bad faults", T, async () => {
	const secret = "wsec_conformance";
	const rcv = await receiver();
	try {
		const cfg = await rawOk("POST", "/_sim/webhooks", {
			key: null, body: { url: rcv.url, secret, events: ["transcript", "call_initiation_failure"] },
		});
		assert.equal(cfg.url, rcv.url);
		const b = await bc.create({
			callName: "webhooks", agentId: agent("hooks"), agentPhoneNumberId: PHONE_ID,
			recipients: [{ phoneNumber: "+14155550600" }, { phoneNumber: "+14155550606" }],
		});
		// ours only: other tests' batches may end meanwhile
		const mine = async () => {
			const d = await bc.get(b.id);
			const ids = new Set(d.recipients.map((r) => r.conversationId).filter(Boolean));
			return rcv.got.filter((g) => ids.has(JSON.parse(g.raw).data.conversation_id));
		};
		const end = Date.now() + 60000;
		let events;
		while ((events = await mine()).length < 2) {
			assert.ok(Date.now() < end, `webhooks not received: ${rcv.got.length} in all`);
			await advance(0.05);
		}
		const types = [];
		for (const g of events) {
			assert.match(g.sig, /^t=\d+,v0=[0-9a-f]{64}$/);
			assert.equal(g.path, "/el-hook");
			const evt = await client.webhooks.constructEvent(g.raw, g.sig, secret);
			assert.deepEqual(evt, JSON.parse(g.raw));
			assert.equal(Number(g.sig.slice(2, g.sig.indexOf(","))), evt.event_timestamp, "t = event_timestamp");
			types.push(evt.type);
			if (evt.type === "post_call_transcription") {
				assert.deepEqual(evt.data, await rawOk("GET", `/v1/convai/conversations/${evt.data.conversation_id}`),
					"data is the GET body");
				checkConvJson(evt.data, "webhook data");
				assert.equal(evt.data.status, "done");
			} else {
				assert.equal(evt.data.failure_reason, "no-answer");
				assert.equal(evt.data.metadata.type, "twilio");
			}
			await assert.rejects(client.webhooks.constructEvent(g.raw, g.sig, "another-secret"), ElevenLabsError);
			await assert.rejects(client.webhooks.constructEvent(g.raw + " ", g.sig, secret), ElevenLabsError);
		}
		assert.deepEqual(sorted(types), ["call_initiation_failure", "post_call_transcription"]);

		// faults: a bad signature and a stale timestamp
		await rawOk("POST", "/_sim/webhook-faults", { key: null, body: { kind: "bad_signature", event: "call_initiation_failure" } });
		await rawOk("POST", "/_sim/webhook-faults", { key: null, body: { kind: "stale_timestamp", event: "post_call_transcription" } });
		const b2 = await bc.create({
			callName: "webhook faults", agentId: agent("hookfaults"), agentPhoneNumberId: PHONE_ID,
			recipients: [{ phoneNumber: "+14155550700" }, { phoneNumber: "+14155550706" }],
		});
		const mine2 = async () => {
			const d = await bc.get(b2.id);
			const ids = new Set(d.recipients.map((r) => r.conversationId).filter(Boolean));
			return rcv.got.filter((g) => ids.has(JSON.parse(g.raw).data.conversation_id));
		};
		while ((events = await mine2()).length < 2) {
			assert.ok(Date.now() < end, "faulty webhooks not received");
			await advance(0.05);
		}
		const clock = await rawOk("GET", "/_sim/clock", { key: null });
		for (const g of events) {
			const evt = JSON.parse(g.raw);
			const t = Number(g.sig.slice(2, g.sig.indexOf(",")));
			if (evt.type === "call_initiation_failure") {
				await assert.rejects(client.webhooks.constructEvent(g.raw, g.sig, secret),
					/Signature hash does not match/);
			} else {
				assert.equal(t, evt.event_timestamp - 1860, "stale: t is 31 minutes old");
				// the SDK checks t against the real clock: meaningful while
				// the simulated clock is not far ahead of it
				if (clock.offset_us < 1700e6) {
					await assert.rejects(client.webhooks.constructEvent(g.raw, g.sig, secret),
						/Timestamp outside the tolerance zone/);
				}
			}
		}
	} finally {
		await raw("POST", "/_sim/webhooks", { key: null, body: { url: null } });
		await raw("DELETE", "/_sim/webhook-faults", { key: null });
		await rcv.close();
	}
});

test("create: phone batch with every request field, echoed and parsed by the SDK", T, async () => {
	const recipients = [
		{
			id: "crm-000123",
			phoneNumber: "+14155550101",
			conversationInitiationClientData: {
				dynamicVariables: { user_name: "Alice", plan: "Pro", days_left: 7, vip: true, ratio: 0.5 },
			},
		},
		{
			phoneNumber: "+14155550102",
			conversationInitiationClientData: {
				dynamicVariables: { user_name: "Bob", plan: "Starter", days_left: 3, vip: false },
				conversationConfigOverride: {
					agent: { language: "es", firstMessage: "Hola Bob", prompt: { prompt: "Be brief." } },
					tts: { voiceId: "voice_123", stability: 0.4, speed: 1.1 },
				},
			},
		},
		{ phoneNumber: "+14155550103" },
	];
	const req = {
		callName: "Renewal reminders 2026-10-20",
		agentId: agent("full"),
		agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR,
		timezone: "America/New_York",
		branchId: "agtbrch_conf",
		environment: "staging",
		telephonyCallConfig: {
			ringingTimeoutSecs: 45,
			twilioCallRecordingEnabled: true,
			twilioMachineDetection: { mode: "detect_message_end" },
		},
		targetConcurrencyLimit: 3,
		recipients,
	};
	const b = await bc.create(req);
	assert.equal(typeof b.id, "string");
	assert.match(b.id, /^btcal_[0-9a-z]{28}$/, "batch id shaped like the observed ids (§1)");
	assert.equal(b.name, req.callName);
	assert.equal(b.agentId, req.agentId);
	assert.equal(b.phoneNumberId, PHONE_ID);
	assert.ok(b.phoneProvider === undefined || PROVIDERS.includes(b.phoneProvider));
	assert.equal(b.whatsappParams, undefined);
	assert.equal(b.branchId, "agtbrch_conf");
	assert.equal(b.environment, "staging");
	assert.equal(b.timezone, "America/New_York");
	assert.equal(b.scheduledTimeUnix, FAR);
	assert.equal(b.status, "pending");
	assert.equal(b.totalCallsScheduled, 3);
	assert.equal(b.totalCallsDispatched, 0);
	assert.equal(b.totalCallsFinished, 0);
	assert.equal(b.retryCount, 0);
	assert.equal(b.targetConcurrencyLimit, 3);
	assert.equal(b.telephonyCallConfig.ringingTimeoutSecs, 45);
	assert.equal(b.telephonyCallConfig.twilioCallRecordingEnabled, true);
	assert.deepEqual(b.telephonyCallConfig.twilioMachineDetection, { mode: "detect_message_end" });
	assert.equal(typeof b.agentName, "string");
	assert.ok(b.agentName.length > 0);
	assert.ok(b.lastUpdatedAtUnix >= b.createdAtUnix);

	const d = await bc.get(b.id);
	assert.equal(d.id, b.id);
	assert.equal(d.status, "pending");
	assert.equal(d.createdAtUnix, b.createdAtUnix);
	assert.equal(d.recipients.length, 3);
	assert.deepEqual(d.recipients.map((r) => r.phoneNumber), ["+14155550101", "+14155550102", "+14155550103"]);
	assert.equal(new Set(d.recipients.map((r) => r.id)).size, 3, "recipient ids must be unique");
	for (const r of d.recipients) {
		assert.equal(r.status, "pending");
		assert.equal(r.conversationId, undefined, "no conversation before dialling");
		assert.equal(r.whatsappUserId, undefined);
		assert.ok(r.createdAtUnix >= b.createdAtUnix);
	}
	const [r0, r1, r2] = d.recipients;
	assert.deepEqual(r0.conversationInitiationClientData.dynamicVariables,
		{ user_name: "Alice", plan: "Pro", days_left: 7, vip: true, ratio: 0.5 });
	assert.deepEqual(r1.conversationInitiationClientData.dynamicVariables,
		{ user_name: "Bob", plan: "Starter", days_left: 3, vip: false });
	const ov = r1.conversationInitiationClientData.conversationConfigOverride;
	assert.equal(ov.agent.language, "es");
	assert.equal(ov.agent.firstMessage, "Hola Bob");
	assert.equal(ov.agent.prompt.prompt, "Be brief.");
	assert.equal(ov.tts.voiceId, "voice_123");
	assert.equal(ov.tts.stability, 0.4);
	assert.equal(ov.tts.speed, 1.1);
	assert.equal(r2.conversationInitiationClientData, undefined);

	// The same batch as raw JSON: every key present (§1 nullability rule).
	const j = await rawOk("GET", `/v1/convai/batch-calling/${b.id}`);
	checkBatchJson(j, "get", { withRecipients: true });
	assert.equal(j.whatsapp_params, null);
	assert.equal(j.branch_id, "agtbrch_conf");
	assert.deepEqual(j.telephony_call_config.twilio_machine_detection, { mode: "detect_message_end" });
	assert.equal(j.recipients[2].conversation_initiation_client_data, null);
	assert.equal(j.recipients[0].whatsapp_user_id, null);
	assert.equal(j.recipients[0].conversation_id, null);
	// wire form of the override keys is snake_case (§1)
	assert.equal(j.recipients[1].conversation_initiation_client_data.conversation_config_override.agent.first_message, "Hola Bob");
	assert.equal(j.recipients[1].conversation_initiation_client_data.conversation_config_override.tts.voice_id, "voice_123");

	await bc.cancel(b.id);
});

test("create: raw submit response carries every §3.4 key; omitted fields get documented defaults", T, async () => {
	const body = {
		call_name: "defaults",
		agent_id: agent("defaults"),
		agent_phone_number_id: PHONE_ID,
		recipients: [{ phone_number: "+14155550110" }],
	};
	const j = await rawOk("POST", "/v1/convai/batch-calling/submit", { body });
	checkBatchJson(j, "submit");
	assert.equal(j.name, "defaults");
	assert.equal(j.agent_id, body.agent_id);
	assert.equal(j.phone_number_id, PHONE_ID);
	assert.equal(j.whatsapp_params, null);
	assert.equal(j.timezone, null);
	assert.equal(j.branch_id, null);
	assert.equal(j.environment, null);
	assert.equal(j.target_concurrency_limit, null);
	assert.equal(j.total_calls_scheduled, 1);
	assert.equal(j.total_calls_finished, 0);
	assert.equal(j.retry_count, 0);
	// §4.1 / §8.2: no scheduled_time_unix -> start now, echoed as creation time.
	assert.equal(j.scheduled_time_unix, j.created_at_unix);
	// §4.1 default telephony_call_config
	assert.equal(j.telephony_call_config.ringing_timeout_secs, 60);
	assert.equal(j.telephony_call_config.twilio_call_recording_enabled, false);
	assert.ok(j.telephony_call_config.twilio_machine_detection === undefined ||
		j.telephony_call_config.twilio_machine_detection === null);
	// and the SDK accepts the same batch
	const d = await bc.get(j.id);
	assert.equal(d.id, j.id);
	assert.equal(d.recipients.length, 1);
	assert.equal(d.recipients[0].phoneNumber, "+14155550110");
});

test("create: WhatsApp batch", T, async () => {
	const wa = {
		whatsappPhoneNumberId: "1234567890123",
		whatsappCallPermissionRequestTemplateName: "call_permission_request",
		whatsappCallPermissionRequestTemplateLanguageCode: "en_US",
	};
	const b = await bc.create({
		callName: "WA follow-up",
		agentId: agent("wa"),
		whatsappParams: wa,
		scheduledTimeUnix: FAR,
		recipients: [
			{ whatsappUserId: "14155550101", conversationInitiationClientData: { dynamicVariables: { user_name: "Ana" } } },
			{ whatsappUserId: "14155550102" },
		],
	});
	assert.deepEqual(b.whatsappParams, wa);
	assert.equal(b.phoneNumberId, undefined);
	assert.equal(b.totalCallsScheduled, 2);
	assert.equal(b.status, "pending");
	const d = await bc.get(b.id);
	assert.deepEqual(d.recipients.map((r) => r.whatsappUserId), ["14155550101", "14155550102"]);
	assert.deepEqual(d.recipients.map((r) => r.phoneNumber), [undefined, undefined]);
	assert.deepEqual(d.recipients[0].conversationInitiationClientData.dynamicVariables, { user_name: "Ana" });
	const j = await rawOk("GET", `/v1/convai/batch-calling/${b.id}`);
	checkBatchJson(j, "get whatsapp", { withRecipients: true });
	assert.deepEqual(j.whatsapp_params, {
		whatsapp_phone_number_id: "1234567890123",
		whatsapp_call_permission_request_template_name: "call_permission_request",
		whatsapp_call_permission_request_template_language_code: "en_US",
	});
	assert.equal(j.phone_number_id, null);
	assert.equal(j.recipients[0].phone_number, null);
	assert.equal(j.recipients[1].whatsapp_user_id, "14155550102");
	await bc.cancel(b.id);
});

test("create: exactly 10,000 recipients is accepted (§4.1 maxItems)", T, async () => {
	const recipients = phones(10000, 14150000000).map((p) => ({ phoneNumber: p }));
	const b = await bc.create({
		callName: "max", agentId: agent("max"), agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR, recipients,
	});
	assert.equal(b.totalCallsScheduled, 10000);
	const d = await bc.get(b.id);
	assert.equal(d.recipients.length, 10000);
	assert.equal(d.recipients[9999].phoneNumber, "+14150009999");
	await bc.delete(b.id);
	await sdkError(bc.get(b.id), 404, "get after delete");
});

// ---- list ------------------------------------------------------------------

test("list: pagination across pages, newest first, agent_id filter", T, async () => {
	const agentId = agent("page");
	const created = [];
	for (let i = 0; i < 7; i++) {
		const b = await bc.create({
			callName: `page ${i}`, agentId, agentPhoneNumberId: PHONE_ID,
			scheduledTimeUnix: FAR, recipients: [{ phoneNumber: `+1415555020${i}` }],
		});
		created.push(b.id);
	}
	const newestFirst = [...created].reverse();

	// SDK, filtered, limit 2: pages of 2,2,2,1.
	const seen = [];
	const sizes = [];
	let lastDoc;
	for (let page = 0; ; page++) {
		assert.ok(page < 10, "pagination does not terminate");
		const r = await bc.list({ limit: 2, agentId, lastDoc });
		sizes.push(r.batchCalls.length);
		for (const b of r.batchCalls) {
			assert.equal(b.agentId, agentId);
			seen.push(b.id);
		}
		if (!r.hasMore) {
			assert.equal(r.nextDoc, undefined, "last page: next_doc must be null (§4.2)");
			break;
		}
		assert.equal(typeof r.nextDoc, "string", "has_more without next_doc");
		assert.equal(r.nextDoc, r.batchCalls.at(-1).id, "next_doc is the last batch of the page (§4.2 example)");
		lastDoc = r.nextDoc;
	}
	assert.deepEqual(sizes, [2, 2, 2, 1]);
	assert.deepEqual(seen, newestFirst, "every batch exactly once, newest first");

	// Raw pages: every key present, has_more/next_doc consistent.
	let cursor = null;
	const rawSeen = [];
	for (let page = 0; ; page++) {
		assert.ok(page < 10, "raw pagination does not terminate");
		const q = new URLSearchParams({ limit: "3", agent_id: agentId });
		if (cursor !== null) q.set("last_doc", cursor);
		const j = await rawOk("GET", `/v1/convai/batch-calling/workspace?${q}`);
		checkListJson(j, `list page ${page}`);
		for (const b of j.batch_calls) {
			assert.equal("recipients" in b, false, "§3.7: list items carry no recipients");
			rawSeen.push(b.id);
		}
		if (!j.has_more) {
			assert.equal(j.next_doc, null);
			break;
		}
		assert.equal(typeof j.next_doc, "string");
		assert.equal(j.next_doc, j.batch_calls.at(-1).id);
		cursor = j.next_doc;
	}
	assert.deepEqual(rawSeen, newestFirst);

	// limit equal to the number of batches: one page, nothing more.
	const all = await bc.list({ limit: 7, agentId });
	assert.deepEqual(all.batchCalls.map((b) => b.id), newestFirst);
	assert.equal(all.hasMore, false);

	// Unknown agent: empty page.
	const none = await rawOk("GET", `/v1/convai/batch-calling/workspace?agent_id=${agent("nobody")}`);
	checkListJson(none, "empty list");
	assert.deepEqual(none, { batch_calls: [], next_doc: null, has_more: false });

	// Whole workspace without filter, small pages: no duplicates, ours all
	// present and in order, created_at_unix never increasing.
	const ids = [];
	let prevCreated = Infinity;
	lastDoc = undefined;
	for (let page = 0; ; page++) {
		assert.ok(page < 1000, "workspace pagination does not terminate");
		const r = await bc.list({ limit: 3, lastDoc });
		for (const b of r.batchCalls) {
			assert.ok(b.createdAtUnix <= prevCreated, "workspace list must be newest first");
			prevCreated = b.createdAtUnix;
			ids.push(b.id);
		}
		if (!r.hasMore) break;
		lastDoc = r.nextDoc;
	}
	assert.equal(new Set(ids).size, ids.length, "a batch appeared twice in the workspace list");
	assert.deepEqual(ids.filter((id) => created.includes(id)), newestFirst);

	// A cursor survives the deletion of its batch, and a batch created
	// during the walk (newer than the cursor) does not show up in it.
	const walk = [];
	let r1 = await bc.list({ limit: 2, agentId });
	walk.push(...r1.batchCalls.map((b) => b.id));
	await bc.delete(r1.nextDoc);
	const newer = await bc.create({
		callName: "newer", agentId, agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR, recipients: [{ phoneNumber: "+14155550299" }],
	});
	for (let page = 0; r1.hasMore; page++) {
		assert.ok(page < 10);
		r1 = await bc.list({ limit: 2, agentId, lastDoc: r1.nextDoc });
		walk.push(...r1.batchCalls.map((b) => b.id));
	}
	assert.deepEqual(walk, newestFirst);
	created.splice(created.indexOf(newestFirst[1]), 1);
	created.push(newer.id);

	// Default limit (100) without parameters parses too.
	const def = await bc.list();
	assert.ok(def.batchCalls.length >= 7 && def.batchCalls.length <= 100);

	for (const id of created) await bc.delete(id);
});

// ---- cancel ----------------------------------------------------------------

test("cancel: a scheduled batch becomes cancelled with all recipients cancelled", T, async () => {
	const b = await bc.create({
		callName: "to cancel", agentId: agent("cancel"), agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR, targetConcurrencyLimit: 1,
		recipients: phones(4, 14155550300).map((p) => ({ phoneNumber: p })),
	});
	const j = await rawOk("POST", `/v1/convai/batch-calling/${b.id}/cancel`);
	checkBatchJson(j, "cancel");
	assert.equal(j.id, b.id);
	assert.equal(j.status, "cancelled");
	assert.equal(j.total_calls_scheduled, 4);
	assert.equal(j.retry_count, 0);
	const d = await bc.get(b.id);
	assert.equal(d.status, "cancelled");
	assert.deepEqual(d.recipients.map((r) => r.status), ["cancelled", "cancelled", "cancelled", "cancelled"]);
	// §8.1: cancelled is terminal, total_calls_finished counts terminal recipients.
	assert.equal(d.totalCallsFinished, 4);
	// The cancelled batch stays cancelled when time passes.
	await advance(600);
	const d2 = await bc.get(b.id);
	assert.equal(d2.status, "cancelled");
	assert.deepEqual(d2.recipients.map((r) => r.status), ["cancelled", "cancelled", "cancelled", "cancelled"]);

	// And through the SDK for a second batch.
	const b2 = await bc.create({
		callName: "to cancel 2", agentId: agent("cancel"), agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR, recipients: [{ phoneNumber: "+14155550310" }],
	});
	const c2 = await bc.cancel(b2.id);
	assert.equal(c2.id, b2.id);
	assert.equal(c2.status, "cancelled");
});

test("cancel: a running batch stops; finished calls keep their status, the rest are cancelled", T, async () => {
	// cap 1: the first call is short (last digit 0), the others long (9), so
	// the batch is certainly still running when the cancel arrives.
	const numbers = ["+14155550800", ...phones(11, 14155550809).map((p) => p.slice(0, -1) + "9")];
	const b = await bc.create({
		callName: "cancel running", agentId: agent("cancel"), agentPhoneNumberId: PHONE_ID,
		targetConcurrencyLimit: 1, recipients: numbers.map((p) => ({ phoneNumber: p })),
	});
	const pre = await advanceUntil(b.id, (d) => d.recipients[0].status === "completed");
	assert.equal(pre.status, "in_progress");
	const c = await bc.cancel(b.id);
	assert.equal(c.status, "cancelled");
	assert.equal(c.totalCallsScheduled, numbers.length);
	assert.equal(c.totalCallsFinished, numbers.length, "every recipient is terminal after a cancel");
	assert.equal(c.totalCallsDispatched, numbers.length);
	const post = await bc.get(b.id);
	assert.equal(post.status, "cancelled");
	assert.equal(post.recipients[0].status, "completed", "a finished call keeps its status");
	assert.equal(post.recipients[0].conversationId, pre.recipients[0].conversationId);
	for (let i = 1; i < numbers.length; i++) {
		const was = pre.recipients[i].status, now = post.recipients[i].status;
		if (was === "pending") assert.equal(now, "cancelled", `recipient ${i} pending -> ${now}`);
		else assert.ok(now === "cancelled" || now === "completed", `recipient ${i} ${was} -> ${now}`);
	}
	assert.ok(post.recipients.filter((r) => r.status === "cancelled").length >= numbers.length - 2);
	// nothing is dialled after the cancel
	await advance(3600);
	const later = await bc.get(b.id);
	assert.deepEqual(later.recipients.map((r) => r.status), post.recipients.map((r) => r.status));
	assert.equal(later.lastUpdatedAtUnix, post.lastUpdatedAtUnix);
	await bc.delete(b.id);
});

test("echo: every dynamic-variable type, unicode and special characters round-trip; query values are decoded", T, async () => {
	const agentId = `agent_conf${RUN} spé&c=1+2/x`;
	const dv = {
		str: "a/b \"q\" \\ é ✓ 日本\n\ttab", empty: "", int: 42, neg: -7, zero: 0,
		big: 9007199254740991, float: 0.1, exp: 1.5e-7, yes: true, no: false, secret__token: "s3cr3t",
	};
	const b = await bc.create({
		callName: "Prénom \"quoted\" / slash ✓", agentId, agentPhoneNumberId: "phnum_sip_conf",
		timezone: "Asia/Kolkata", scheduledTimeUnix: FAR,
		recipients: [{ id: "crm/ä 1", phoneNumber: "+14155550900", conversationInitiationClientData: { dynamicVariables: dv, userId: "user-1" } }],
	});
	assert.equal(b.name, "Prénom \"quoted\" / slash ✓");
	assert.equal(b.agentId, agentId);
	assert.equal(b.timezone, "Asia/Kolkata");
	const d = await bc.get(b.id);
	assert.deepEqual(d.recipients[0].conversationInitiationClientData.dynamicVariables, dv);
	assert.equal(d.recipients[0].conversationInitiationClientData.userId, "user-1");
	// the SDK percent-encodes the query; a raw client may use + for space
	const l = await bc.list({ agentId });
	assert.deepEqual(l.batchCalls.map((x) => x.id), [b.id]);
	const q = "agent_id=" + encodeURIComponent(agentId).replace(/%20/g, "+");
	const j = await rawOk("GET", `/v1/convai/batch-calling/workspace?${q}`);
	assert.deepEqual(j.batch_calls.map((x) => x.id), [b.id], `query ${q}`);
	await bc.delete(b.id);
});

test("failed batch: a batch-level failure parses, and retry is refused", T, async () => {
	// docs/simulator.md: an agent id containing "fail" fails the batch
	const b = await bc.create({
		callName: "bad agent", agentId: agent("fail"), agentPhoneNumberId: PHONE_ID,
		recipients: phones(3, 14155550950).map((p) => ({ phoneNumber: p })),
	});
	const d = await advanceUntil(b.id, (x) => x.status === "failed");
	assert.equal(d.totalCallsScheduled, 3);
	assert.equal(d.retryCount, 0);
	const j = await rawOk("GET", `/v1/convai/batch-calling/${b.id}`);
	checkBatchJson(j, "failed batch", { withRecipients: true });
	const l = await rawOk("GET", `/v1/convai/batch-calling/workspace?agent_id=${agent("fail")}`);
	checkListJson(l, "failed batch list");
	assert.deepEqual(l.batch_calls.map((x) => x.status), ["failed"]);
	const e = await sdkError(bc.retry(b.id), 400, "retry of a failed batch nobody was dialled in");
	checkDetailObject(e.body, "retry failed batch", { type: "invalid_request" });
	const e2 = await sdkError(bc.cancel(b.id), 400, "cancel of a failed batch");
	checkDetailObject(e2.body, "cancel failed batch", { type: "invalid_request" });
	await bc.delete(b.id);
});

// ---- run to completion, export, retry, delete --------------------------------

test("lifecycle: dial under the concurrency cap, complete, export, retry, delete", T, async () => {
	const numbers = phones(10, 14155550400);
	const limit = 2;
	const b = await bc.create({
		callName: "lifecycle", agentId: agent("life"), agentPhoneNumberId: PHONE_ID,
		targetConcurrencyLimit: limit,
		recipients: numbers.map((p, i) => ({
			phoneNumber: p,
			conversationInitiationClientData: { dynamicVariables: { row: i } },
		})),
	});
	assert.equal(b.scheduledTimeUnix, b.createdAtUnix);

	// §8.1 counters; §8.3 concurrency cap, observed at every poll; statuses
	// only move forward along §8.1's order; last_updated_at_unix never
	// goes back.
	const ORDER = { pending: 0, dispatched: 1, initiated: 2, in_progress: 3 };
	let prevRank = numbers.map(() => 0);
	let prevUpdated = b.lastUpdatedAtUnix;
	const checkCounters = (d) => {
		const st = d.recipients.map((r) => r.status);
		const rank = st.map((x) => ORDER[x] ?? 4);
		rank.forEach((k, i) => assert.ok(k >= prevRank[i], `recipient ${i} went back to ${st[i]}`));
		prevRank = rank;
		assert.ok(d.lastUpdatedAtUnix >= prevUpdated, "last_updated_at_unix went back");
		prevUpdated = d.lastUpdatedAtUnix;
		assert.equal(d.totalCallsScheduled, numbers.length);
		assert.equal(d.totalCallsDispatched, st.filter((s) => s !== "pending").length,
			`total_calls_dispatched vs recipients ${st.join(",")}`);
		assert.equal(d.totalCallsFinished, st.filter((s) => TERMINAL.has(s)).length,
			`total_calls_finished vs recipients ${st.join(",")}`);
		assert.ok(st.filter((s) => ACTIVE.has(s)).length <= limit, `more than ${limit} calls at once: ${st.join(",")}`);
		assert.ok(d.lastUpdatedAtUnix >= d.createdAtUnix);
		for (const r of d.recipients) {
			if (r.status === "in_progress" || r.status === "completed") {
				assert.equal(typeof r.conversationId, "string", `recipient ${r.id} ${r.status} without conversation_id`);
			}
		}
	};
	const done = await advanceUntil(b.id, (d) => d.status === "completed", { onEach: checkCounters });
	// docs/simulator.md's last-digit rule: 6 failed, 7 voicemail, 8 failed
	// then completed on retry, anything else completed.
	const C = "completed";
	assert.deepEqual(done.recipients.map((r) => r.status), [C, C, C, C, C, C, "failed", "voicemail", "failed", C]);
	assert.equal(done.totalCallsFinished, numbers.length);
	assert.equal(done.totalCallsDispatched, numbers.length);
	assert.equal(done.retryCount, 0);
	const jd = await rawOk("GET", `/v1/convai/batch-calling/${b.id}`);
	checkBatchJson(jd, "get completed", { withRecipients: true });

	// export: CSV text through the SDK and raw
	const csv = await streamText((await bc.export(b.id)));
	const lines = csv.replace(/\r?\n$/, "").split(/\r?\n/);
	assert.equal(lines.length, numbers.length + 1, `export: header + one row per recipient, got:\n${csv}`);
	for (const p of numbers) assert.ok(csv.includes(p), `export lacks ${p}`);
	const ex = await raw("GET", `/v1/convai/batch-calling/${b.id}/export`);
	assert.equal(ex.status, 200);
	assert.match(ex.headers.get("content-type") ?? "", /^text\/csv\b/);
	assert.equal(ex.text, csv);
	const ex2 = await streamText(await bc.export(b.id, { limit: 3 }));
	assert.equal(ex2.replace(/\r?\n$/, "").split(/\r?\n/).length, 4, "export?limit=3: header + 3 rows");

	// retry re-dials failed and voicemail recipients of the same batch.
	// (At --speed 50 a call lasts tens of milliseconds of wall time, so only
	// what the retry response itself says and what cannot change afterwards
	// is asserted exactly.)
	const again = new Map(done.recipients.filter((r) => r.status === "failed" || r.status === "voicemail").map((r) => [r.id, r]));
	assert.ok(again.size > 0, "the phone numbers chosen (last digits 0-9) should produce failed/voicemail recipients");
	const kept = new Map(done.recipients.filter((r) => r.status === "completed").map((r) => [r.id, r]));
	const jr = await rawOk("POST", `/v1/convai/batch-calling/${b.id}/retry`);
	checkBatchJson(jr, "retry");
	assert.equal(jr.id, b.id, "retry keeps the same batch (§4.5)");
	assert.equal(jr.retry_count, 1);
	assert.equal(jr.status, "in_progress");
	assert.equal(jr.total_calls_scheduled, numbers.length);
	assert.equal(jr.total_calls_finished, numbers.length - again.size, "re-dialled recipients are no longer finished");
	assert.ok(jr.last_updated_at_unix >= done.lastUpdatedAtUnix);
	const checkKept = (d) => {
		for (const r of d.recipients) {
			if (!kept.has(r.id)) continue;
			assert.equal(r.status, "completed", "retry must not re-dial completed recipients");
			assert.equal(r.conversationId, kept.get(r.id).conversationId);
			assert.equal(r.updatedAtUnix, kept.get(r.id).updatedAtUnix);
		}
	};
	const done2 = await advanceUntil(b.id, (d) => d.status === "completed", {
		onEach: (d) => {
			assert.equal(d.retryCount, 1);
			assert.ok(d.recipients.filter((r) => ACTIVE.has(r.status)).length <= limit);
			checkKept(d);
		},
	});
	assert.equal(done2.totalCallsFinished, numbers.length);
	assert.equal(done2.totalCallsDispatched, numbers.length);
	// Issue 3: one outcome fails the first time and succeeds on retry.
	assert.deepEqual(done2.recipients.map((r) => r.status), [C, C, C, C, C, C, "failed", "voicemail", C, C]);
	const healed = done2.recipients.filter((r) => again.has(r.id) && r.status === "completed");
	assert.equal(healed.length, 1, "the 8 succeeds on retry");
	for (const r of healed) {
		assert.notEqual(r.conversationId, again.get(r.id).conversationId, "a new call is a new conversation");
	}
	// Second retry through the SDK: those that failed/voicemail again.
	const still = done2.recipients.filter((r) => r.status === "failed" || r.status === "voicemail");
	assert.ok(still.length > 0, "some numbers should fail or reach voicemail every time");
	const r2 = await bc.retry(b.id);
	assert.equal(r2.id, b.id);
	assert.equal(r2.retryCount, 2);
	assert.equal(r2.totalCallsFinished, numbers.length - still.length);
	const done3 = await advanceUntil(b.id, (d) => d.status === "completed");
	assert.equal(done3.retryCount, 2);
	assert.deepEqual(done3.recipients.map((r) => r.status), [C, C, C, C, C, C, "failed", "voicemail", C, C]);
	// retry of a running batch, or of one with nothing to retry, is refused
	// (the document leaves the code open: any 4xx, parsed as ElevenLabsError)
	const nothing = await bc.create({
		callName: "all good", agentId: agent("life"), agentPhoneNumberId: PHONE_ID,
		recipients: [{ phoneNumber: "+14155550401" }],
	});
	await advanceUntil(nothing.id, (d) => d.status === "completed");
	// Refusals: the document leaves the code open; the simulator answers 400
	// with a §7.2 detail object of type invalid_request (the type §7.2 maps to
	// 400), like the "cannot be cancelled in current state" of §4.4.
	let err = await sdkError(bc.retry(nothing.id), 400, "retry with nothing to retry");
	checkDetailObject(err.body, "retry with nothing to retry", { type: "invalid_request" });
	err = await sdkError(bc.cancel(nothing.id), 400, "cancel of a completed batch");
	checkDetailObject(err.body, "cancel of a completed batch", { type: "invalid_request" });
	assert.equal((await bc.get(nothing.id)).status, "completed");
	const pend = await bc.create({
		callName: "not started", agentId: agent("life"), agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR, recipients: [{ phoneNumber: "+14155550406" }],
	});
	err = await sdkError(bc.retry(pend.id), 400, "retry of a pending batch");
	checkDetailObject(err.body, "retry of a pending batch", { type: "invalid_request" });
	assert.equal((await bc.get(pend.id)).retryCount, 0);
	await bc.cancel(pend.id);
	err = await sdkError(bc.cancel(pend.id), 400, "cancel of a cancelled batch");
	checkDetailObject(err.body, "cancel of a cancelled batch", { type: "invalid_request" });
	err = await sdkError(bc.retry(pend.id), 400, "retry of a cancelled batch");
	checkDetailObject(err.body, "retry of a cancelled batch", { type: "invalid_request" });
	await bc.delete(nothing.id);
	await bc.delete(pend.id);

	// delete: SDK returns undefined, then the batch is gone
	const del = await bc.delete(b.id);
	assert.equal(del, undefined);
	const e = await sdkError(bc.get(b.id), 404, "get after delete");
	checkDetailObject(e.body, "get after delete", { type: "not_found" });
	const listed = await bc.list({ agentId: agent("life") });
	assert.deepEqual(listed.batchCalls.map((x) => x.id), []);
});

test("delete: raw 204 with an empty body", T, async () => {
	const b = await bc.create({
		callName: "to delete", agentId: agent("del"), agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR, recipients: [{ phoneNumber: "+14155550500" }],
	});
	const r = await raw("DELETE", `/v1/convai/batch-calling/${b.id}`);
	assert.equal(r.status, 204);
	assert.equal(r.text, "");
	const g = await raw("GET", `/v1/convai/batch-calling/${b.id}`);
	assert.equal(g.status, 404);
	checkDetailObject(g.json, "raw get after delete", { type: "not_found" });
	const again = await raw("DELETE", `/v1/convai/batch-calling/${b.id}`);
	assert.equal(again.status, 404);
});

// ---- errors -----------------------------------------------------------------

test("401: wrong key through the SDK on every endpoint", T, async () => {
	const b = await bc.create({
		callName: "auth", agentId: agent("auth"), agentPhoneNumberId: PHONE_ID,
		scheduledTimeUnix: FAR, recipients: [{ phoneNumber: "+14155550600" }],
	});
	const bb = badClient.conversationalAi.batchCalls;
	const calls = {
		list: () => bb.list(),
		get: () => bb.get(b.id),
		create: () => bb.create({ callName: "x", agentId: agent("auth"), agentPhoneNumberId: PHONE_ID, recipients: [{ phoneNumber: "+14155550601" }] }),
		cancel: () => bb.cancel(b.id),
		retry: () => bb.retry(b.id),
		delete: () => bb.delete(b.id),
		export: () => bb.export(b.id),
	};
	for (const [name, call] of Object.entries(calls)) {
		const e = await sdkError(call(), 401, `${name} with a wrong key`);
		checkDetailObject(e.body, `${name} 401`, { type: "authentication_error", status: "invalid_api_key" });
		assert.equal(e.body.detail.code, "unauthorized");
		assert.equal(e.body.detail.message, "Invalid API key");
	}
	// nothing happened to the batch
	const d = await bc.get(b.id);
	assert.equal(d.status, "pending");
	await bc.delete(b.id);
});

test("401: raw, no key and wrong key", T, async () => {
	const none = await raw("GET", "/v1/convai/batch-calling/workspace", { key: null });
	assert.equal(none.status, 401);
	assert.match(none.headers.get("content-type") ?? "", /^application\/json\b/);
	checkDetailObject(none.json, "no key", { type: "authentication_error", status: "needs_authorization" });
	assert.equal(none.json.detail.code, "unauthorized");
	const wrong = await raw("GET", "/v1/convai/batch-calling/workspace", { key: "nope" });
	assert.equal(wrong.status, 401);
	checkDetailObject(wrong.json, "wrong key", { type: "authentication_error", status: "invalid_api_key" });
	assert.equal(wrong.json.detail.message, "Invalid API key");
});

test("404: unknown batch on every batch endpoint", T, async () => {
	const id = "btcal_0000000000000000000000000000";
	const e1 = await sdkError(bc.get(id), 404, "get unknown");
	checkDetailObject(e1.body, "get unknown", { type: "not_found" });
	const calls = { cancel: () => bc.cancel(id), retry: () => bc.retry(id), delete: () => bc.delete(id), export: () => bc.export(id) };
	for (const [name, call] of Object.entries(calls)) {
		const e = await sdkError(call(), 404, `${name} unknown`);
		checkDetailObject(e.body, `${name} unknown`, { type: "not_found" });
	}
	const r = await raw("GET", `/v1/convai/batch-calling/${id}`);
	assert.equal(r.status, 404);
	assert.match(r.headers.get("content-type") ?? "", /^application\/json\b/);
	checkDetailObject(r.json, "raw get unknown", { type: "not_found" });
});

test("404: unknown route is FastAPI's {\"detail\":\"Not Found\"}", T, async () => {
	for (const path of ["/v1/convai/batch-calling", "/v1/nothing-here", "/v1/convai/batch-calling/x/y/z"]) {
		const r = await raw("GET", path);
		assert.equal(r.status, 404, `${path}`);
		assert.deepEqual(r.json, { detail: "Not Found" }, `${path}: ${r.text}`);
	}
});

test("422 through the SDK: target_concurrency_limit 0, ringing_timeout_secs 1000, 10,001 recipients", T, async () => {
	const base = {
		callName: "bad", agentId: agent("bad"), agentPhoneNumberId: PHONE_ID,
		recipients: [{ phoneNumber: "+14155550700" }],
	};
	let e = await sdkError(bc.create({ ...base, targetConcurrencyLimit: 0 }), 422, "target_concurrency_limit 0");
	let it = findLoc(check422Body(e.body, "tcl 0"), ["body", "target_concurrency_limit"]);
	assert.equal(it.type, "greater_than_equal");
	assert.equal(it.msg, "Input should be greater than or equal to 1");
	assert.equal(it.input, 0);
	assert.deepEqual(it.ctx, { ge: 1 });

	e = await sdkError(bc.create({ ...base, telephonyCallConfig: { ringingTimeoutSecs: 1000 } }), 422, "ringing 1000");
	it = findLoc(check422Body(e.body, "ringing 1000"), ["body", "telephony_call_config", "ringing_timeout_secs"]);
	assert.equal(it.type, "less_than_equal");
	assert.equal(it.msg, "Input should be less than or equal to 999");
	assert.equal(it.input, 1000);
	assert.deepEqual(it.ctx, { le: 999 });

	e = await sdkError(bc.create({ ...base, telephonyCallConfig: { ringingTimeoutSecs: 0 } }), 422, "ringing 0");
	it = findLoc(check422Body(e.body, "ringing 0"), ["body", "telephony_call_config", "ringing_timeout_secs"]);
	assert.equal(it.type, "greater_than_equal");
	assert.deepEqual(it.ctx, { ge: 1 });

	const many = phones(10001, 14150000000).map((p) => ({ phoneNumber: p }));
	e = await sdkError(bc.create({ ...base, recipients: many }), 422, "10001 recipients");
	it = findLoc(check422Body(e.body, "10001"), ["body", "recipients"]);
	assert.equal(it.type, "too_long");
	assert.equal(it.msg, "List should have at most 10000 items after validation, not 10001");
	assert.deepEqual(it.ctx, { field_type: "List", max_length: 10000, actual_length: 10001 });

	// none of these created a batch
	const l = await bc.list({ agentId: agent("bad") });
	assert.deepEqual(l.batchCalls, []);
});

test("422 comes before authentication (§7.1, observed on ElevenLabs)", T, async () => {
	const bad = { callName: "x", agentId: agent("bad"), recipients: [{ phoneNumber: "+14155550700" }], targetConcurrencyLimit: 0 };
	const e = await sdkError(badClient.conversationalAi.batchCalls.create(bad), 422, "invalid body, wrong key");
	findLoc(check422Body(e.body, "422 before 401"), ["body", "target_concurrency_limit"]);
	const r = await raw("POST", "/v1/convai/batch-calling/submit", { key: null, body: { call_name: "x" } });
	assert.equal(r.status, 422, r.text);
	// a valid body with a wrong key is still 401
	const ok = { callName: "x", agentId: agent("bad"), recipients: [{ phoneNumber: "+14155550700" }] };
	await sdkError(badClient.conversationalAi.batchCalls.create(ok), 401, "valid body, wrong key");
});

test("422 raw: missing fields, malformed JSON, wrong types", T, async () => {
	const submit = "/v1/convai/batch-calling/submit";
	// missing required field
	let r = await raw("POST", submit, { body: { call_name: "x", recipients: [] } });
	assert.equal(r.status, 422, r.text);
	assert.match(r.headers.get("content-type") ?? "", /^application\/json\b/);
	let it = findLoc(check422Body(r.json, "missing agent_id"), ["body", "agent_id"]);
	assert.equal(it.type, "missing");
	assert.equal(it.msg, "Field required");
	assert.deepEqual(it.input, { call_name: "x", recipients: [] });

	r = await raw("POST", submit, { body: {} });
	assert.equal(r.status, 422, r.text);
	const items = check422Body(r.json, "empty object");
	for (const f of ["call_name", "agent_id", "recipients"]) {
		assert.equal(findLoc(items, ["body", f]).type, "missing");
	}

	// malformed JSON
	r = await raw("POST", submit, { rawBody: "{\"call_name\": " });
	assert.equal(r.status, 422, r.text);
	it = check422Body(r.json, "malformed")[0];
	assert.equal(it.type, "json_invalid");
	assert.equal(it.loc[0], "body");
	assert.ok(Number.isInteger(it.loc[1]), "json_invalid loc carries the character offset");
	assert.equal(it.msg, "JSON decode error");

	// recipients item not an object
	r = await raw("POST", submit, { body: { call_name: "x", agent_id: agent("bad"), recipients: ["+14155550100"] } });
	assert.equal(r.status, 422, r.text);
	it = findLoc(check422Body(r.json, "recipient not object"), ["body", "recipients", 0]);
	assert.equal(it.type, "model_attributes_type");
	assert.equal(it.msg, "Input should be a valid dictionary or object to extract fields from");

	// target_concurrency_limit 0, raw
	r = await raw("POST", submit, { body: { call_name: "x", agent_id: agent("bad"), recipients: [{ phone_number: "+14155550100" }], target_concurrency_limit: 0 } });
	assert.equal(r.status, 422, r.text);
	it = findLoc(check422Body(r.json, "tcl 0 raw"), ["body", "target_concurrency_limit"]);
	assert.equal(it.type, "greater_than_equal");

	// several errors: one item each, in the order of the body's fields (§4.1)
	r = await raw("POST", submit, { body: {
		call_name: "x", agent_id: agent("bad"), recipients: [{ phone_number: "+14155550100" }],
		target_concurrency_limit: 0, telephony_call_config: { ringing_timeout_secs: 1000 },
		timezone: 5, scheduled_time_unix: "soon",
	} });
	assert.equal(r.status, 422, r.text);
	assert.deepEqual(check422Body(r.json, "several").map((x) => [x.type, x.loc.join(".")]), [
		["int_parsing", "body.scheduled_time_unix"],
		["string_type", "body.timezone"],
		["less_than_equal", "body.telephony_call_config.ringing_timeout_secs"],
		["greater_than_equal", "body.target_concurrency_limit"],
	]);

	// whatsapp_params without its required template keys (§3.2)
	r = await raw("POST", submit, { body: {
		call_name: "x", agent_id: agent("bad"), recipients: [{ whatsapp_user_id: "14155550100" }],
		whatsapp_params: { whatsapp_phone_number_id: "1" },
	} });
	assert.equal(r.status, 422, r.text);
	assert.deepEqual(check422Body(r.json, "whatsapp").map((x) => [x.type, x.loc.join(".")]), [
		["missing", "body.whatsapp_params.whatsapp_call_permission_request_template_name"],
		["missing", "body.whatsapp_params.whatsapp_call_permission_request_template_language_code"],
	]);

	// string for an integer query parameter
	r = await raw("GET", "/v1/convai/batch-calling/workspace?limit=abc");
	assert.equal(r.status, 422, r.text);
	it = findLoc(check422Body(r.json, "limit=abc"), ["query", "limit"]);
	assert.equal(it.type, "int_parsing");
	assert.equal(it.msg, "Input should be a valid integer, unable to parse string as an integer");
	assert.equal(it.input, "abc");

	const l = await bc.list({ agentId: agent("bad") });
	assert.deepEqual(l.batchCalls, []);
});

// ---- known deviations ---------------------------------------------------------
// FastAPI decodes a body with Python's json.loads (strict), then reports
// json_invalid with loc ["body", <character offset>] (§7.1). Found by this
// test against the first simulator and reported to its owner; marked todo so
// they show in the log without failing the suite. Drop `todo` once fixed.

const FINDING_JSON = "finding: the simulator's JSON reader is laxer than json.loads and counts bytes, not characters";

test("422 json_invalid: strict JSON, loc is a character offset (§7.1)", { ...T, todo: FINDING_JSON }, async () => {
	const submit = "/v1/convai/batch-calling/submit";
	const cases = [
		// body, character offset, Python's message
		["{'call_name':\"x\",'agent_id':\"a\",'recipients':[]}", 1, "Expecting property name enclosed in double quotes"],
		["{\"call_name\":\"x\ny\",\"agent_id\":\"a\",\"recipients\":[]}", 15, "Invalid control character at"],
		["{\"call_name\":\"x\",\"agent_id\":\"a\",\"recipients\":[{\"phone_number\":\"+1\t2\"}]}", 65, "Invalid control character at"],
		["{\"call_name\": \"é\" x}", 18, "Expecting ',' delimiter"],
		["{\"call_name\": \"日本\", ", 20, "Expecting property name enclosed in double quotes"],
	];
	// every case is tried, so the log lists each deviation
	const wrong = [];
	for (const [body, pos, msg] of cases) {
		const r = await raw("POST", submit, { rawBody: body });
		const want = { status: 422, type: "json_invalid", loc: ["body", pos], ctx: { error: msg } };
		const it = r.json?.detail?.[0] ?? {};
		const got = { status: r.status, type: it.type, loc: it.loc, ctx: it.ctx };
		try {
			assert.deepEqual(got, want);
			check422Body(r.json, JSON.stringify(body));
		} catch {
			wrong.push(`${JSON.stringify(body)}: want ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
		}
	}
	assert.deepEqual(wrong, [], wrong.join("\n"));
});
