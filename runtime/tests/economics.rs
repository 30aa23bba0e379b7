//! The expected value of lying, from the runtime's own parameters: for every fee and every
//! catch probability the chain allows, an executor that returns a made-up result instead
//! of running the model loses money on average. Run with `--nocapture` to see the table
//! (`docs/SECURITY.md` shows it).
//!
//! Per job with per-run fee `F`, an executor is paid `(1 - OwnerShare) * F` and puts the
//! job's stake `S` (from `Executors::job_stake`) at risk, which is slashed if its lie is
//! caught, with probability `p`. Of the slash, `SlashRewardShare` goes to the challenger
//! and `CommitteeRewardShare` to the committee members who voted for the outcome. The liar
//! may be its own challenger (its verifier challenges first, L6) and may hold committee
//! seats that vote against it, so it loses at least `L = (1 - SlashRewardShare -
//! CommitteeRewardShare) * S`. A lazy executor (no compute) expects
//! `EV = (1 - p) * (1 - OwnerShare) * F - p * L`; an honest one with compute cost `c`
//! expects `(1 - OwnerShare) * F - c`, so laziness pays only for compute costs above
//! `p * ((1 - OwnerShare) * F + L)`. The stake is backed: an executor takes a job only
//! while its bond covers the stakes of all its unsettled jobs, so `S` is always there to
//! take.

use haca_primitives::{traits::ExecutorRegistry, MIN_AUDIT_PERCENT};
use haca_runtime::{
	configs::{CommitteeRewardShare, OwnerShare, SlashRewardShare, SpotCheckChance, VoterSlash},
	genesis_config_presets::DEMO_MODEL_FEE,
	Balance, Executors, UNIT,
};
use sp_runtime::Perbill;

/// Whole HACA, for printing.
fn haca(amount: f64) -> String {
	format!("{:.3}", amount / UNIT as f64)
}

/// A verifier node's audit rate `a` and the number `v` of verifiers auditing
/// independently: a lie is caught with probability `1 - (1 - a)^v`.
fn catch_probability(audit_percent: u32, verifiers: i32) -> f64 {
	1.0 - (1.0 - f64::from(audit_percent) / 100.0).powi(verifiers)
}

#[test]
fn lying_has_a_negative_expected_value_for_every_fee_and_allowed_audit_rate() {
	sp_io::TestExternalities::default().execute_with(|| {
		let share = |part: Perbill| part.deconstruct() as f64 / 1e9;
		let paid_share = 1.0 - share(OwnerShare::get());
		let lost_share = 1.0 - share(SlashRewardShare::get()) - share(CommitteeRewardShare::get());
		assert!(lost_share > 0.0, "a caught liar must lose something it cannot win back");
		let fees: [Balance; 6] =
			[0, DEMO_MODEL_FEE / 10, DEMO_MODEL_FEE, UNIT, 10 * UNIT, 1_000 * UNIT];
		let settings: [(&str, f64); 6] = [
			("one verifier at the least audit rate", catch_probability(MIN_AUDIT_PERCENT, 1)),
			("one verifier at the default 10 %", catch_probability(10, 1)),
			("testnet: two verifiers at 10 %", catch_probability(10, 2)),
			("ten verifiers at 10 %", catch_probability(10, 10)),
			("every verifier at 100 %", 1.0),
			("quorum free-rider (an honest majority)", 1.0),
		];
		println!(
			"{:<40} {:>7} {:>10} {:>10} {:>10} {:>12} {:>16}",
			"setting", "p", "fee", "stake", "lost", "EV of lying", "lying pays if c >"
		);
		for (setting, p) in settings {
			for fee in fees {
				let stake = Executors::job_stake(fee) as f64;
				let lost = lost_share * stake;
				let paid = paid_share * fee as f64;
				let ev = (1.0 - p) * paid - p * lost;
				let break_even_cost = p * (paid + lost);
				println!(
					"{setting:<40} {:>6.2}% {:>10} {:>10} {:>10} {:>12} {:>16}",
					p * 100.0,
					haca(fee as f64),
					haca(stake),
					haca(lost),
					haca(ev),
					haca(break_even_cost),
				);
				assert!(ev < 0.0, "{setting}, fee {fee}: lying expects {ev}");
			}
		}

		// The bound behind the table: as fees grow, stakes grow with them (the least stake
		// matters only for small fees), so lying stays unprofitable down to this catch
		// probability, below the least audit rate of a single verifier.
		let large_fee = 1_000_000 * UNIT;
		let lost_per_fee = lost_share * Executors::job_stake(large_fee) as f64 / large_fee as f64;
		let break_even_p = paid_share / (paid_share + lost_per_fee);
		println!("lying breaks even at p = {:.3} % for large fees", break_even_p * 100.0);
		assert!(break_even_p < catch_probability(MIN_AUDIT_PERCENT, 1));
	});
}

/// A verifier that does not run the models it audits (and so cannot answer a spot check,
/// which the chain draws on `SpotCheckChance` of quorum assignments) loses `VoterSlash` at
/// every check it is drawn for; answering costs one run. Skipping pays only for a run that
/// costs more than `VoterSlash`, many times what any demo job pays.
#[test]
fn a_lazy_verifier_loses_more_at_each_spot_check_than_a_run_is_paid() {
	let chance = SpotCheckChance::get().deconstruct() as f64 / 1e9;
	let slash = VoterSlash::get();
	assert!(chance > 0.0, "verifiers get spot checks");
	println!(
		"{:<12} {:>24} {:>28}",
		"verifiers", "checks per 1,000 jobs", "lazy verifier loses (HACA)"
	);
	for verifiers in [3u32, 10, 64] {
		let checks = 1_000.0 * chance / f64::from(verifiers);
		println!("{verifiers:<12} {checks:>24.1} {:>28}", haca(checks * slash as f64));
	}
	println!(
		"skipping a check pays only for a run costing over {} HACA ({}x the demo fee)",
		haca(slash as f64),
		slash / DEMO_MODEL_FEE
	);
	assert!(slash >= 10 * DEMO_MODEL_FEE, "a skipped check costs more than ten demo jobs pay");
}
