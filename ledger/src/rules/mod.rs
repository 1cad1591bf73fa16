//! Source verification on write: the rule set (configuration adopted by
//! governance), and the deterministic decision over (log state before the
//! entry, the statement, the registration time).
//!
//! Spec: `spec/rules.md`.
//!
//! Every check has a stable name `<rule>.<check>` (for example
//! `scope.location`). A check either rejects the statement with a
//! [`Violation`] naming it, or flags it: the statement is accepted and the
//! name is recorded in the entry. Which one is the rule set's choice for the
//! configurable rules; `signature`, `well-formed` and `governance` always
//! reject.

mod check;

pub use check::{decide, Accepted, Context, Decided, Kind};

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a configurable rule does when its check fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Refuse the statement.
    #[default]
    Reject,
    /// Accept it and record the check's name in the entry.
    Flag,
    /// Do not check.
    Off,
}

/// A statement refused by a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule family, e.g. `scope`.
    pub rule: &'static str,
    /// The check within it, e.g. `location`.
    pub check: &'static str,
    /// What exactly was wrong, with the values involved.
    pub detail: String,
}

impl Violation {
    pub fn new(rule: &'static str, check: &'static str, detail: impl Into<String>) -> Self {
        Self { rule, check, detail: detail.into() }
    }

    /// `rule.check`, as used in flags and problem details.
    pub fn name(&self) -> String {
        format!("{}.{}", self.rule, self.check)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}: {}", self.rule, self.check, self.detail)
    }
}

impl std::error::Error for Violation {}

/// Rule 4, time: event time against the registration time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeRule {
    /// For events (and `iat`) later than registration time plus the skew.
    pub mode: Mode,
    pub max_future_skew_ms: u64,
    /// Events older than this before registration time are `too_old`;
    /// `None` accepts any age.
    pub max_age_ms: Option<u64>,
    pub too_old: Mode,
}

impl Default for TimeRule {
    fn default() -> Self {
        Self { mode: Mode::Reject, max_future_skew_ms: 5 * 60 * 1000, max_age_ms: None, too_old: Mode::Flag }
    }
}

/// A rule that is only switched between modes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Toggle {
    pub mode: Mode,
}

/// Rule 6, quantity: outputs of a transformation within a yield of its inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantityRule {
    pub mode: Mode,
    /// Largest allowed `sum(outputs) / sum(inputs)` when both use one unit.
    pub max_yield: f64,
}

impl Default for QuantityRule {
    fn default() -> Self {
        Self { mode: Mode::Flag, max_yield: 1.0 }
    }
}

/// A plausible range for one measurement type in one unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorRange {
    /// The measurement type as the event writes it (`Temperature`, …).
    #[serde(rename = "type")]
    pub measurement_type: String,
    /// The UN/ECE Rec 20 unit code (`CEL`, `KGM`, …).
    pub uom: String,
    pub min: f64,
    pub max: f64,
}

/// Rule 7, sensor plausibility.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SensorRule {
    pub mode: Mode,
    pub ranges: Vec<SensorRange>,
}

impl Default for SensorRule {
    fn default() -> Self {
        let r =
            |t: &str, u: &str, min, max| SensorRange { measurement_type: t.into(), uom: u.into(), min, max };
        Self {
            mode: Mode::Flag,
            ranges: vec![
                r("Temperature", "CEL", -80.0, 80.0),
                r("Temperature", "FAH", -112.0, 176.0),
                r("Temperature", "KEL", 193.15, 353.15),
                r("RelativeHumidity", "P1", 0.0, 100.0),
                r("Humidity", "A93", 0.0, 1000.0),
            ],
        }
    }
}

/// How many distinct registered partners must sign, and which roles must be
/// among them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quorum {
    pub min_signers: u32,
    /// At least one signer must have one of these roles; empty: any.
    #[serde(default)]
    pub roles: Vec<crate::governance::Role>,
}

/// Rule 8, multi-signature for high-impact statements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultisigRule {
    pub mode: Mode,
    /// A recall (disposition `recalled`, set or persistent).
    pub recall: Quorum,
    /// A certification claim (`certificationInfo`).
    pub certification: Quorum,
    /// An `errorDeclaration` on an event another partner issued.
    pub foreign_correction: Quorum,
}

impl Default for MultisigRule {
    fn default() -> Self {
        use crate::governance::Role;
        Self {
            mode: Mode::Reject,
            recall: Quorum { min_signers: 2, roles: vec![] },
            certification: Quorum { min_signers: 1, roles: vec![Role::Certifier] },
            foreign_correction: Quorum { min_signers: 2, roles: vec![] },
        }
    }
}

/// A rule set: which checks run and how. Adopted by governance; its ID is
/// the statement ID of the governance statement that adopted it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub name: String,
    /// Rule 3: locations, products, business steps, shipper and receiver.
    #[serde(default)]
    pub scope: Toggle,
    #[serde(default)]
    pub time: TimeRule,
    /// Rule 4 (causality): receipts after shipments, nothing after destruction.
    #[serde(default)]
    pub causality: Toggle,
    /// Rule 5: transformation inputs and aggregated children already known.
    #[serde(default)]
    pub lineage: Toggle,
    #[serde(default)]
    pub quantity: QuantityRule,
    #[serde(default)]
    pub sensor: SensorRule,
    #[serde(default)]
    pub multisig: MultisigRule,
    /// Rule 9: error declarations only on known events, by their issuer or a quorum.
    #[serde(default)]
    pub correction: Toggle,
    /// An `eventID` registered once (its error declaration aside).
    #[serde(default)]
    pub replay: Toggle,
}

impl RuleSet {
    /// Every rule at its default: everything rejects except quantity and
    /// sensor checks, which flag.
    pub fn strict(name: &str) -> Self {
        RuleSet {
            name: name.to_owned(),
            scope: Toggle::default(),
            time: TimeRule::default(),
            causality: Toggle::default(),
            lineage: Toggle::default(),
            quantity: QuantityRule::default(),
            sensor: SensorRule::default(),
            multisig: MultisigRule::default(),
            correction: Toggle::default(),
            replay: Toggle::default(),
        }
    }

    /// The demo rule set of `provlog-server --dev`: every configurable rule
    /// flags instead of rejecting, so that example events from anywhere
    /// register and show what the rules would say; signatures,
    /// well-formedness, replay and governance still reject, as always.
    pub fn permissive(name: &str) -> Self {
        let mut r = Self::strict(name);
        r.scope.mode = Mode::Flag;
        r.time.mode = Mode::Flag;
        r.causality.mode = Mode::Flag;
        r.lineage.mode = Mode::Flag;
        r.multisig.mode = Mode::Flag;
        r.correction.mode = Mode::Flag;
        r.replay.mode = Mode::Flag;
        r.time.max_age_ms = None;
        r
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// A message naming the bad parameter.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || self.name.len() > 128 {
            return Err("rule set name must be 1 to 128 characters".into());
        }
        if !(self.quantity.max_yield.is_finite() && self.quantity.max_yield > 0.0) {
            return Err("quantity.max_yield must be a positive number".into());
        }
        if self.sensor.ranges.len() > 256 {
            return Err("at most 256 sensor ranges".into());
        }
        for r in &self.sensor.ranges {
            if !(r.min.is_finite() && r.max.is_finite() && r.min <= r.max) {
                return Err(format!(
                    "sensor range for {} {} needs finite min <= max",
                    r.measurement_type, r.uom
                ));
            }
        }
        for (name, q) in [
            ("recall", &self.multisig.recall),
            ("certification", &self.multisig.certification),
            ("foreign_correction", &self.multisig.foreign_correction),
        ] {
            if q.min_signers == 0 || q.min_signers > crate::statement::MAX_SIGNERS as u32 {
                return Err(format!(
                    "multisig.{name}.min_signers must be 1 to {}",
                    crate::statement::MAX_SIGNERS
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_set_json_round_trips_with_defaults() {
        let r = RuleSet::permissive("demo");
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<RuleSet>(&j).unwrap(), r);
        let minimal: RuleSet = serde_json::from_str(r#"{"name":"m"}"#).unwrap();
        assert_eq!(minimal, RuleSet::strict("m"));
        assert!(serde_json::from_str::<RuleSet>(r#"{"name":"m","bogus":1}"#).is_err());
    }

    #[test]
    fn invalid_parameters_are_refused() {
        let mut r = RuleSet::strict("x");
        r.quantity.max_yield = f64::NAN;
        assert!(r.validate().is_err());
        let mut r = RuleSet::strict("x");
        r.multisig.recall.min_signers = 0;
        assert!(r.validate().is_err());
    }
}
