//! The event summary: what lineage keeps of an accepted EPCIS event, stored
//! as the event node and returned in answers. A pure function of the entry,
//! so that a client holding a proven entry recomputes it and compares.
//!
//! Spec: `spec/lineage.md` §2.1 (fields and node encoding).

use crate::entry::Entry;
use crate::epcis::{self, Event, EventKind};
use crate::statement::{Statement, StatementId, CONTENT_TYPE_EPCIS};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The five EPCIS event types, named as in JSON (`"ObjectEvent"`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventType {
    ObjectEvent,
    AggregationEvent,
    TransactionEvent,
    TransformationEvent,
    AssociationEvent,
}

impl EventType {
    /// The code stored in mention records (`spec/lineage.md` §2).
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<EventType> {
        use EventType::*;
        [ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, AssociationEvent]
            .get(c as usize)
            .copied()
    }

    /// The JSON `type` value, e.g. `"ObjectEvent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ObjectEvent => "ObjectEvent",
            EventType::AggregationEvent => "AggregationEvent",
            EventType::TransactionEvent => "TransactionEvent",
            EventType::TransformationEvent => "TransformationEvent",
            EventType::AssociationEvent => "AssociationEvent",
        }
    }

    /// Whether events of this type open and close containment (§3.2).
    pub fn is_containment(self) -> bool {
        matches!(self, EventType::AggregationEvent | EventType::AssociationEvent)
    }
}

impl From<EventKind> for EventType {
    fn from(k: EventKind) -> EventType {
        match k {
            EventKind::Object => EventType::ObjectEvent,
            EventKind::Aggregation => EventType::AggregationEvent,
            EventKind::Transaction => EventType::TransactionEvent,
            EventKind::Transformation => EventType::TransformationEvent,
            EventKind::Association => EventType::AssociationEvent,
        }
    }
}

/// An event's `action`, named as in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "ADD")]
    Add,
    #[serde(rename = "OBSERVE")]
    Observe,
    #[serde(rename = "DELETE")]
    Delete,
}

impl Action {
    /// 0 for none, then ADD, OBSERVE, DELETE (`spec/lineage.md` §2).
    pub(crate) fn code(a: Option<Action>) -> u8 {
        a.map_or(0, |a| a as u8 + 1)
    }

    pub(crate) fn from_code(c: u8) -> Option<Option<Action>> {
        match c {
            0 => Some(None),
            1 => Some(Some(Action::Add)),
            2 => Some(Some(Action::Observe)),
            3 => Some(Some(Action::Delete)),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }
}

impl From<epcis::Action> for Action {
    fn from(a: epcis::Action) -> Action {
        match a {
            epcis::Action::Add => Action::Add,
            epcis::Action::Observe => Action::Observe,
            epcis::Action::Delete => Action::Delete,
        }
    }
}

/// The part an identifier plays in an event (`spec/lineage.md` §1); the
/// discriminant is its bit in a [`RoleSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Parent = 0,
    Epc = 1,
    Quantity = 2,
    Child = 3,
    ChildQuantity = 4,
    Input = 5,
    InputQuantity = 6,
    Output = 7,
    OutputQuantity = 8,
    Source = 9,
    Destination = 10,
}

impl Role {
    const ALL: [Role; 11] = [
        Role::Parent,
        Role::Epc,
        Role::Quantity,
        Role::Child,
        Role::ChildQuantity,
        Role::Input,
        Role::InputQuantity,
        Role::Output,
        Role::OutputQuantity,
        Role::Source,
        Role::Destination,
    ];

    pub(crate) fn from_code(c: u8) -> Option<Role> {
        Role::ALL.get(c as usize).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Parent => "parent",
            Role::Epc => "epc",
            Role::Quantity => "quantity",
            Role::Child => "child",
            Role::ChildQuantity => "child_quantity",
            Role::Input => "input",
            Role::InputQuantity => "input_quantity",
            Role::Output => "output",
            Role::OutputQuantity => "output_quantity",
            Role::Source => "source",
            Role::Destination => "destination",
        }
    }
}

impl From<epcis::Role> for Role {
    fn from(r: epcis::Role) -> Role {
        match r {
            epcis::Role::Parent => Role::Parent,
            epcis::Role::Epc => Role::Epc,
            epcis::Role::Quantity => Role::Quantity,
            epcis::Role::Child => Role::Child,
            epcis::Role::ChildQuantity => Role::ChildQuantity,
            epcis::Role::Input => Role::Input,
            epcis::Role::InputQuantity => Role::InputQuantity,
            epcis::Role::Output => Role::Output,
            epcis::Role::OutputQuantity => Role::OutputQuantity,
        }
    }
}

/// A set of [`Role`]s, as stored in mention records (bit `role as u16`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(pub u16);

impl RoleSet {
    pub const OBJECT: RoleSet = RoleSet(0x01ff);
    pub const PARENT: RoleSet = RoleSet(1 << Role::Parent as u16);
    pub const CHILD: RoleSet = RoleSet(1 << Role::Child as u16 | 1 << Role::ChildQuantity as u16);
    pub const INPUT: RoleSet = RoleSet(1 << Role::Input as u16 | 1 << Role::InputQuantity as u16);
    pub const OUTPUT: RoleSet = RoleSet(1 << Role::Output as u16 | 1 << Role::OutputQuantity as u16);

    pub fn with(self, r: Role) -> RoleSet {
        RoleSet(self.0 | 1 << r as u16)
    }
    pub fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }
    pub fn and(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 & other.0)
    }
    pub fn or(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 | other.0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The roles, in [`Role`] order.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| self.0 & (1 << *r as u16) != 0).collect()
    }
}

/// An object an event names, with its role and, for quantity roles, amount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectMention {
    pub role: Role,
    /// The canonical identifier.
    pub id: String,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

/// One item of a `sourceList` or `destinationList`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyMention {
    /// `owning_party`, `possessing_party`, `location` or an extension URI.
    #[serde(rename = "type")]
    pub kind: String,
    /// The canonical identifier of the party or location.
    pub id: String,
}

/// One item of a `bizTransactionList`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BizTransactionMention {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: String,
}

/// The `errorDeclaration` of a declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarationSummary {
    pub declaration_time_ms: i64,
    pub reason: Option<String>,
    pub corrective_event_ids: Vec<String>,
}

/// What lineage keeps of one accepted EPCIS event (`spec/lineage.md` §2.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    /// The statement ID, 64 lower-case hex digits.
    pub statement_id: String,
    /// The partner that issued the statement (`iss`).
    pub issuer: String,
    pub event_type: EventType,
    pub action: Option<Action>,
    pub event_time_ms: i64,
    pub time_zone_offset_minutes: i16,
    pub event_id: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    /// Canonical identifier of the `readPoint`.
    pub read_point: Option<String>,
    /// Canonical identifier of the `bizLocation`.
    pub biz_location: Option<String>,
    /// In the order of `Event::identifiers()`.
    pub objects: Vec<ObjectMention>,
    pub sources: Vec<PartyMention>,
    pub destinations: Vec<PartyMention>,
    pub biz_transactions: Vec<BizTransactionMention>,
    pub transformation_id: Option<String>,
    /// Whether the event is a recall (`Event::is_recall`).
    pub recall: bool,
    /// Present on an error declaration.
    pub declaration: Option<DeclarationSummary>,
}

impl EventSummary {
    /// The summary of `event`, carried by the statement `statement_id`
    /// issued by `issuer`.
    pub fn new(statement_id: &StatementId, issuer: &str, event: &Event) -> EventSummary {
        let party =
            |s: &epcis::SourceDestination| PartyMention { kind: s.kind.clone(), id: s.id.canonical.clone() };
        EventSummary {
            statement_id: statement_id.to_string(),
            issuer: issuer.to_owned(),
            event_type: event.kind.into(),
            action: event.action.map(Action::from),
            event_time_ms: event.event_time_ms,
            time_zone_offset_minutes: event.time_zone_offset.minutes,
            event_id: event.event_id.clone(),
            biz_step: event.biz_step.clone(),
            disposition: event.disposition.clone(),
            read_point: event.read_point.as_ref().map(|i| i.canonical.clone()),
            biz_location: event.biz_location.as_ref().map(|i| i.canonical.clone()),
            objects: event
                .identifiers()
                .into_iter()
                .map(|r| ObjectMention {
                    role: r.role.into(),
                    id: r.id.canonical.clone(),
                    quantity: r.quantity,
                    uom: r.uom.map(str::to_owned),
                })
                .collect(),
            sources: event.sources.iter().map(party).collect(),
            destinations: event.destinations.iter().map(party).collect(),
            biz_transactions: event
                .biz_transactions
                .iter()
                .map(|b| BizTransactionMention {
                    kind: b.transaction_type.clone(),
                    id: b.transaction.clone(),
                })
                .collect(),
            transformation_id: event.transformation_id.clone(),
            recall: event.is_recall(),
            declaration: event.error_declaration.as_ref().map(|d| DeclarationSummary {
                declaration_time_ms: d.declaration_time_ms,
                reason: d.reason.clone(),
                corrective_event_ids: d.corrective_event_ids.clone(),
            }),
        }
    }

    /// Whether this is an Aggregation or Association DELETE with no
    /// children, which ends every containment of its parent (§3.2).
    pub fn is_empty_delete(&self) -> bool {
        self.event_type.is_containment()
            && self.action == Some(Action::Delete)
            && !self.objects.iter().any(|o| matches!(o.role, Role::Child | Role::ChildQuantity))
    }

    /// The identifiers in `roles`, each once, in object order.
    pub fn objects_in(&self, roles: RoleSet) -> impl Iterator<Item = &str> {
        let mut seen = Vec::<&str>::new();
        self.objects.iter().filter_map(move |o| {
            let fits = roles.intersects(RoleSet::default().with(o.role));
            (fits && !seen.contains(&o.id.as_str())).then(|| {
                seen.push(&o.id);
                o.id.as_str()
            })
        })
    }

    /// The roles `id` plays among the objects.
    pub fn roles_of(&self, id: &str) -> RoleSet {
        self.objects.iter().filter(|o| o.id == id).fold(RoleSet::default(), |s, o| s.with(o.role))
    }
}

/// Why [`summarize_entry`] could not read an entry.
#[derive(Debug, Error)]
pub enum SummaryError {
    #[error("entry record: {0}")]
    Entry(#[from] crate::entry::EntryError),
    #[error("statement: {0}")]
    Statement(#[from] crate::statement::StatementError),
    #[error("EPCIS payload: {0}")]
    Epcis(#[from] epcis::EpcisError),
}

/// The summary of the EPCIS event in an entry record, as the log computed
/// it when it indexed the entry; `None` for entries of other content types
/// (governance). Clients call this on proven entry bytes to check the
/// events of an answer (`spec/lineage.md` §6, "Proofs").
///
/// # Errors
/// [`SummaryError`] if the entry, its statement or its payload do not parse
/// (never the case for an entry the log accepted).
pub fn summarize_entry(entry: &[u8]) -> Result<Option<EventSummary>, SummaryError> {
    let entry = Entry::decode(entry)?;
    let stmt = Statement::parse(&entry.statement)?;
    if stmt.content_type() != CONTENT_TYPE_EPCIS {
        return Ok(None);
    }
    let event = epcis::parse_event(stmt.payload())?;
    Ok(Some(EventSummary::new(&stmt.id(), stmt.iss(), &event)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        epcis::parse_event(json.as_bytes()).expect("valid event")
    }

    #[test]
    fn objects_in_lists_each_identifier_once_in_order() {
        let s = EventSummary::new(&StatementId([0; 32]), "x", &event(crate::lineage::TEST_TRANSFORMATION));
        let outs: Vec<&str> = s.objects_in(RoleSet::OUTPUT).collect();
        assert_eq!(
            outs,
            ["https://id.gs1.org/01/20614142000015/21/1", "https://id.gs1.org/01/10614142000018/10/J1"]
        );
        assert_eq!(s.roles_of(outs[1]), RoleSet::default().with(Role::OutputQuantity));
    }

    #[test]
    fn role_sets_name_their_roles() {
        assert_eq!(RoleSet::INPUT.roles(), vec![Role::Input, Role::InputQuantity]);
        assert!(RoleSet::OBJECT.intersects(RoleSet::CHILD));
        assert!(!RoleSet::OBJECT.intersects(RoleSet::default().with(Role::Source)));
    }
}
