//! Decision latency: our `decide` against Cedar's `Authorizer::is_authorized`, side by side,
//! on the same 13-rule policy and the same requests (issue #4, "Benchmarks").
//!
//! ```sh
//! cargo bench -p autopack-governance --bench decision
//! # AUTOPACK_BENCH_ITERS=<timed decisions per request and engine, default 20000>
//! ```
//!
//! # The policy and how its 13 rules map
//!
//! `benches/policy13.toml` (our format) and `benches/policy13.cedar` are the same policy.
//! A rule is one statement a project owner writes; each is one Cedar policy:
//!
//! | rule | `policy13.toml` | Cedar |
//! |---|---|---|
//! | R1–R3 | `[domains.etsy\|shopify\|trading] operations = [...]` | one `permit` per domain listing its actions |
//! | R4 | `limits.max_notional` | `forbid` on `place_order` unless `notional <= 5000.00` |
//! | R5 | `limits.symbols` | `forbid` unless the symbol is in the list |
//! | R6 | `limits.order_types` | `forbid` unless the type is `limit` |
//! | R7 | `limits.days_utc` + `hours_utc` (market hours) | `forbid` unless weekday and time of day fit |
//! | R8 | `raise_tier = { get_account = "B" }` | `forbid` live `get_account` with < 2 approvals (needs approval) |
//! | R9 | `auto_approve = ["create_draft_listing"]` | `forbid` live tier B with < 2 approvals, unless `create_draft_listing` (needs approval) |
//! | R10–R12 | `caps.per_action`, `per_day`, `per_month` | one `forbid` each, on the USD amounts |
//! | R13 | `approvals_required = 2` (with `approval_lifetime`, no self-approval) | `forbid` live tier C with < 2 approvals (needs approval) |
//!
//! Cedar also gets one policy our `decide` has built in: H, the switch gate (global and
//! domain switch on for live). Default deny is built into both. The operations' effects
//! (hence base tiers) come from the same catalog: Cedar action entities are children of
//! `tier_a`/`tier_b`/`tier_c` groups.
//!
//! # What is timed, and what the comparison gives Cedar for free
//!
//! Each timed region is exactly one decision, including dropping its result: `decide(&input)`
//! with a prepared [`DecisionInput`](autopack_governance::DecisionInput) (the action's payload
//! hash is computed beforehand, as the host does at proposal), and
//! `is_authorized(&request, &policies, &entities)` with a prepared Cedar request. Building
//! the inputs is not timed on either side. Cedar's request context is handed values our
//! `decide` computes itself inside the timed region: the number of valid approvals (Cedar
//! cannot filter and count a set, so the bench checks hash, lifetime and separation of
//! duties for it), the weekday, and the notional already parsed as a Cedar `decimal`. Our
//! `decide` also writes a human-readable message for every reason; Cedar returns policy ids.
//!
//! Before timing, both engines decide every request and must reach the expected verdict
//! class (allow / deny / needs approval; a Cedar deny whose determining policies are all
//! marked `@verdict("needs_approval")` counts as needs approval), ours with the expected
//! last reason and Cedar with exactly the expected rules and no evaluation error. Any
//! mismatch aborts the bench with the list of differences.
//!
//! Each decision is timed alone with `Instant` (the timer's own cost is measured and
//! printed), both engines interleaved request by request, alternating which goes first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod policy13;

use autopack_governance::{DecisionInput, decide};
use policy13::Bench;
use std::hint::black_box;
use std::time::Instant;

/// Timed decisions per request and engine when `AUTOPACK_BENCH_ITERS` is not set.
const DEFAULT_ITERS: usize = 20_000;

/// p50, p99 and mean of a set of nanosecond samples.
#[derive(Debug, Clone, Copy)]
struct Stats {
    p50: f64,
    p99: f64,
    mean: f64,
}

impl Stats {
    fn of(samples: &[u64]) -> Stats {
        let mut s = samples.to_vec();
        s.sort_unstable();
        let at = |q: f64| {
            let idx = ((s.len() as f64 - 1.0) * q).round() as usize;
            s[idx.min(s.len() - 1)] as f64
        };
        Stats {
            p50: at(0.50),
            p99: at(0.99),
            mean: s.iter().sum::<u64>() as f64 / s.len() as f64,
        }
    }
}

/// Formats nanoseconds as µs with two decimals.
fn us(ns: f64) -> String {
    format!("{:.2} µs", ns / 1000.0)
}

/// The 1, 5 and 15 minute load averages, or a note that they could not be read.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Times our decision of one prepared input, in nanoseconds.
fn time_ours(input: &DecisionInput<'_>) -> u64 {
    let t = Instant::now();
    let d = decide(black_box(input));
    black_box(&d);
    drop(d);
    t.elapsed().as_nanos() as u64
}

/// Times Cedar's decision of scenario `i`, in nanoseconds.
fn time_cedar(bench: &Bench, i: usize) -> u64 {
    let request = &bench.prepared[i].request;
    let t = Instant::now();
    let r = bench.authorizer.is_authorized(
        black_box(request),
        black_box(&bench.cedar_policies),
        black_box(&bench.entities),
    );
    black_box(&r);
    drop(r);
    t.elapsed().as_nanos() as u64
}

/// Times an empty region: the cost of the timer itself.
fn time_nothing() -> u64 {
    let t = Instant::now();
    black_box(());
    t.elapsed().as_nanos() as u64
}

fn main() {
    let iters = match std::env::var("AUTOPACK_BENCH_ITERS") {
        Ok(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("AUTOPACK_BENCH_ITERS={v}: expected a positive integer")),
        Err(_) => DEFAULT_ITERS,
    };
    let warmup = (iters / 10).max(100);
    let load_start = load_average();

    let bench = Bench::load().unwrap_or_else(|e| panic!("loading the benchmark: {e}"));
    if let Err(problems) = bench.verify() {
        panic!("the two engines disagree; not timing an unfair comparison:\n{problems}");
    }
    let n = bench.prepared.len();
    let inputs: Vec<DecisionInput<'_>> = bench
        .prepared
        .iter()
        .map(|p| p.input(&bench.policy))
        .collect();

    for _ in 0..warmup {
        for (i, input) in inputs.iter().enumerate() {
            time_ours(input);
            time_cedar(&bench, i);
        }
    }
    let mut ours = vec![Vec::with_capacity(iters); n];
    let mut cedar = vec![Vec::with_capacity(iters); n];
    let mut timer = Vec::with_capacity(iters);
    for round in 0..iters {
        for (i, input) in inputs.iter().enumerate() {
            if (round + i) % 2 == 0 {
                ours[i].push(time_ours(input));
                cedar[i].push(time_cedar(&bench, i));
            } else {
                cedar[i].push(time_cedar(&bench, i));
                ours[i].push(time_ours(input));
            }
        }
        timer.push(time_nothing());
    }
    let load_end = load_average();

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "## Decision latency: 13-rule policy, `decide` vs Cedar {} (language {})\n",
        cedar_policy::get_sdk_version(),
        cedar_policy::get_lang_version()
    );
    println!(
        "{n} requests × {iters} timed decisions per engine (AUTOPACK_BENCH_ITERS), {warmup} \
         warm-up rounds; {cores} cores; load average {load_start} at start, {load_end} at end; \
         timer overhead p50 {} (included in every sample below)\n",
        us(Stats::of(&timer).p50)
    );
    println!(
        "| request | verdict | ours p50 | Cedar p50 | ours p99 | Cedar p99 | ours mean | Cedar mean | ours/Cedar (mean) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, p) in bench.prepared.iter().enumerate() {
        let (o, c) = (Stats::of(&ours[i]), Stats::of(&cedar[i]));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
            p.scenario.name,
            p.scenario.expect,
            us(o.p50),
            us(c.p50),
            us(o.p99),
            us(c.p99),
            us(o.mean),
            us(c.mean),
            o.mean / c.mean
        );
    }
    let all_ours: Vec<u64> = ours.concat();
    let all_cedar: Vec<u64> = cedar.concat();
    let (o, c) = (Stats::of(&all_ours), Stats::of(&all_cedar));
    println!("\n| engine, all requests | p50 | p99 | mean |");
    println!("|---|---|---|---|");
    println!(
        "| ours (`decide`) | {} | {} | {} |",
        us(o.p50),
        us(o.p99),
        us(o.mean)
    );
    println!(
        "| Cedar (`is_authorized`) | {} | {} | {} |",
        us(c.p50),
        us(c.p99),
        us(c.mean)
    );
    println!(
        "| **ours / Cedar** | {:.2} | {:.2} | {:.2} |",
        o.p50 / c.p50,
        o.p99 / c.p99,
        o.mean / c.mean
    );
    let met = o.mean / c.mean <= 0.5 && o.p50 / c.p50 <= 0.5;
    println!(
        "\nTarget ours ≤ 0.5 × Cedar (mean and p50): {}",
        if met { "met" } else { "NOT met" }
    );
}
