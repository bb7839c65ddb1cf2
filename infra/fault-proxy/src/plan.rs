//! What the proxy does to requests: a rate for each kind of fault, written as one line so
//! that `make invoke` and `make soak` take it from the environment.
//!
//! `throttle=0.03,error500=0.01,reset=0.01,lost_answer=0.01,lost_call=0.002,late_answer=0.002:4s,latency=0.2:5-80ms,seed=7`
//!
//! Each request draws once: at most one fault of the first six kinds, in that order of the
//! line, each with its own probability; latency is drawn separately and may come on top.

use std::fmt;
use std::time::Duration;

/// The kinds of fault, as counted and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// An answer held back before the request is forwarded.
    Latency,
    /// Refused as throttled without being forwarded: `ThrottlingException` or
    /// `ProvisionedThroughputExceededException` (DynamoDB, taken in turn),
    /// `TooManyRequestsException` (SES), `ThrottlingException` (others).
    Throttle,
    /// Refused with a 500 without being forwarded.
    Error500,
    /// The connection reset before the request is forwarded.
    Reset,
    /// Forwarded and applied; the answer is dropped and the connection reset.
    LostAnswer,
    /// Forwarded and applied; the answer is held past the client's attempt timeout.
    LateAnswer,
    /// Every attempt of one call (the SDK's retries carry the same `amz-sdk-invocation-id`)
    /// forwarded and applied, and every answer dropped: the client gives up without knowing
    /// what happened, as in a short partition after the request landed.
    LostCall,
}

impl FaultKind {
    /// Every kind, in the order of reports.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Latency,
        FaultKind::Throttle,
        FaultKind::Error500,
        FaultKind::Reset,
        FaultKind::LostAnswer,
        FaultKind::LostCall,
        FaultKind::LateAnswer,
    ];

    /// Its name in a plan and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Latency => "latency",
            FaultKind::Throttle => "throttle",
            FaultKind::Error500 => "error500",
            FaultKind::Reset => "reset",
            FaultKind::LostAnswer => "lost_answer",
            FaultKind::LateAnswer => "late_answer",
            FaultKind::LostCall => "lost_call",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one request drew: latency to add, and the fault, if any.
pub type Draw = (Option<Duration>, Option<FaultKind>);

/// Why a plan could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault plan {part:?}: {problem}")]
pub struct PlanError {
    /// The part of the line at fault.
    pub part: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Rates and durations of faults. The default injects nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Probability of a throttling answer.
    pub throttle: f64,
    /// Probability of a 500 answer.
    pub error500: f64,
    /// Probability of a reset connection before forwarding.
    pub reset: f64,
    /// Probability of an answer dropped after the request was applied.
    pub lost_answer: f64,
    /// Probability of a call whose every attempt's answer is dropped.
    pub lost_call: f64,
    /// Probability of an answer delayed after the request was applied.
    pub late_answer: f64,
    /// How long a late answer is held: past the client's attempt timeout.
    pub late_by: Duration,
    /// Probability of added latency.
    pub latency: f64,
    /// The least and most latency added.
    pub latency_range: (Duration, Duration),
    /// The random generator's seed.
    pub seed: u64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        Self {
            throttle: 0.0,
            error500: 0.0,
            reset: 0.0,
            lost_answer: 0.0,
            lost_call: 0.0,
            late_answer: 0.0,
            late_by: Duration::from_secs(4),
            latency: 0.0,
            latency_range: (Duration::from_millis(5), Duration::from_millis(80)),
            seed: 1,
        }
    }
}

impl FaultPlan {
    /// No faults at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads a plan line (see the module's documentation). An empty line is [`FaultPlan::none`].
    pub fn parse(line: &str) -> Result<Self, PlanError> {
        let mut plan = Self::default();
        for part in line.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let error = |problem: &str| PlanError {
                part: part.to_owned(),
                problem: problem.to_owned(),
            };
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| error("expected name=value"))?;
            let (rate, extra) = match value.split_once(':') {
                Some((rate, extra)) => (rate, Some(extra)),
                None => (value, None),
            };
            if name == "seed" {
                plan.seed = value.parse().map_err(|_| error("a whole number"))?;
                continue;
            }
            let rate: f64 = rate
                .parse()
                .ok()
                .filter(|r: &f64| (0.0..=1.0).contains(r))
                .ok_or_else(|| error("a rate from 0 to 1"))?;
            match (name, extra) {
                ("throttle", None) => plan.throttle = rate,
                ("error500", None) => plan.error500 = rate,
                ("reset", None) => plan.reset = rate,
                ("lost_answer", None) => plan.lost_answer = rate,
                ("lost_call", None) => plan.lost_call = rate,
                ("late_answer", extra) => {
                    plan.late_answer = rate;
                    if let Some(extra) = extra {
                        plan.late_by = duration(extra).ok_or_else(|| error("e.g. 4s or 500ms"))?;
                    }
                }
                ("latency", extra) => {
                    plan.latency = rate;
                    if let Some(extra) = extra {
                        plan.latency_range =
                            range(extra).ok_or_else(|| error("e.g. 5-80ms or 1s"))?;
                    }
                }
                _ => return Err(error("unknown fault, or a duration it does not take")),
            }
        }
        if plan.throttle
            + plan.error500
            + plan.reset
            + plan.lost_answer
            + plan.lost_call
            + plan.late_answer
            > 1.0
        {
            return Err(PlanError {
                part: line.to_owned(),
                problem: "the rates of one request's faults add up to more than 1".into(),
            });
        }
        Ok(plan)
    }

    /// Whether the plan injects anything.
    pub fn is_none(&self) -> bool {
        [
            self.throttle,
            self.error500,
            self.reset,
            self.lost_answer,
            self.lost_call,
            self.late_answer,
            self.latency,
        ]
        .iter()
        .all(|r| *r == 0.0)
    }

    /// What one request gets, drawn from `rng`: added latency, and at most one fault.
    pub fn draw(&self, rng: &mut Rng) -> Draw {
        let latency = (rng.chance(self.latency)).then(|| {
            let (low, high) = self.latency_range;
            let span = high.saturating_sub(low).as_micros() as u64;
            low + Duration::from_micros(rng.below(span.max(1)))
        });
        let roll = rng.unit();
        let mut threshold = 0.0;
        for (kind, rate) in [
            (FaultKind::Throttle, self.throttle),
            (FaultKind::Error500, self.error500),
            (FaultKind::Reset, self.reset),
            (FaultKind::LostAnswer, self.lost_answer),
            (FaultKind::LostCall, self.lost_call),
            (FaultKind::LateAnswer, self.late_answer),
        ] {
            threshold += rate;
            if roll < threshold {
                return (latency, Some(kind));
            }
        }
        (latency, None)
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "throttle={},error500={},reset={},lost_answer={},lost_call={},late_answer={}:{}ms,latency={}:{}-{}ms,seed={}",
            self.throttle,
            self.error500,
            self.reset,
            self.lost_answer,
            self.lost_call,
            self.late_answer,
            self.late_by.as_millis(),
            self.latency,
            self.latency_range.0.as_millis(),
            self.latency_range.1.as_millis(),
            self.seed
        )
    }
}

fn duration(text: &str) -> Option<Duration> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    text.strip_suffix('s')?
        .parse::<f64>()
        .ok()
        .filter(|s| *s >= 0.0 && s.is_finite())
        .map(Duration::from_secs_f64)
}

fn range(text: &str) -> Option<(Duration, Duration)> {
    match text.split_once('-') {
        Some((low, high)) => {
            let unit = if high.ends_with("ms") { "ms" } else { "s" };
            let low = if low.ends_with('s') {
                duration(low)?
            } else {
                duration(&format!("{low}{unit}"))?
            };
            let high = duration(high)?;
            (low <= high).then_some((low, high))
        }
        None => duration(text).map(|d| (d, d)),
    }
}

/// A small deterministic random generator (SplitMix64): the same seed gives the same draws.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether an event of probability `p` happens.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// A number in `[0, n)`; `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_line_reads_back_as_written() {
        let plan = FaultPlan::parse(
            "throttle=0.03, error500=0.01,reset=0.01,lost_answer=0.02,lost_call=0.01,late_answer=0.005:4s,latency=0.2:5-80ms,seed=9",
        )
        .unwrap();
        assert_eq!(plan.throttle, 0.03);
        assert_eq!(plan.late_by, Duration::from_secs(4));
        assert_eq!(
            plan.latency_range,
            (Duration::from_millis(5), Duration::from_millis(80))
        );
        assert_eq!(plan.seed, 9);
        assert_eq!(FaultPlan::parse(&plan.to_string()).unwrap(), plan);
        assert!(FaultPlan::parse("").unwrap().is_none());
    }

    #[test]
    fn a_wrong_plan_says_which_part_is_wrong() {
        let error = FaultPlan::parse("throttle=0.1,resets=0.2").unwrap_err();
        assert_eq!(error.part, "resets=0.2");
        assert!(FaultPlan::parse("throttle=2").is_err());
        assert!(FaultPlan::parse("throttle=0.6,reset=0.6").is_err());
        assert!(FaultPlan::parse("latency=0.1:80-5ms").is_err());
    }

    #[test]
    fn draws_follow_the_rates() {
        let plan = FaultPlan::parse("throttle=0.25,lost_answer=0.25,latency=0.5").unwrap();
        let mut rng = Rng::new(42);
        let draws: Vec<_> = (0..20_000).map(|_| plan.draw(&mut rng)).collect();
        let share = |f: &dyn Fn(&Draw) -> bool| {
            draws.iter().filter(|d| f(d)).count() as f64 / draws.len() as f64
        };
        assert!((share(&|d| d.1 == Some(FaultKind::Throttle)) - 0.25).abs() < 0.02);
        assert!((share(&|d| d.1 == Some(FaultKind::LostAnswer)) - 0.25).abs() < 0.02);
        assert!((share(&|d| d.1.is_none()) - 0.5).abs() < 0.02);
        assert!((share(&|d| d.0.is_some()) - 0.5).abs() < 0.02);
        assert!(FaultPlan::none().draw(&mut rng) == (None, None));
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let plan = FaultPlan::parse("throttle=0.3,reset=0.3,seed=5").unwrap();
        let run = || {
            let mut rng = Rng::new(plan.seed);
            (0..100).map(|_| plan.draw(&mut rng).1).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
