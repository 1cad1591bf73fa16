//! The normalized, flat view of an event that rules, lineage and exports
//! read: one struct for all five types, every list present (empty when the
//! type has no such field), vocabulary values normalized and identifiers
//! carrying their canonical form.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use super::identifier::Identifier;
use super::model::*;
use super::time::TimeZoneOffset;

/// One accepted EPCIS event, flattened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub kind: EventKind,
    /// `eventTime` as milliseconds since the Unix epoch, UTC.
    pub event_time_ms: i64,
    pub record_time_ms: Option<i64>,
    pub time_zone_offset: TimeZoneOffset,
    pub event_id: Option<String>,
    /// Absent only on a TransformationEvent.
    pub action: Option<Action>,
    /// The short CBV name (`shipping`) or an extension URI.
    pub biz_step: Option<String>,
    /// The short CBV name (`in_transit`) or an extension URI.
    pub disposition: Option<String>,
    pub persistent_disposition: Option<PersistentDisposition>,
    pub read_point: Option<Identifier>,
    pub biz_location: Option<Identifier>,
    /// `epcList` (Object and Transaction events).
    pub epcs: Vec<Identifier>,
    /// `quantityList` (Object and Transaction events).
    pub quantities: Vec<Quantity>,
    pub parent_id: Option<Identifier>,
    pub child_epcs: Vec<Identifier>,
    pub child_quantities: Vec<Quantity>,
    pub input_epcs: Vec<Identifier>,
    pub input_quantities: Vec<Quantity>,
    pub output_epcs: Vec<Identifier>,
    pub output_quantities: Vec<Quantity>,
    pub transformation_id: Option<String>,
    pub sources: Vec<SourceDestination>,
    pub destinations: Vec<SourceDestination>,
    pub biz_transactions: Vec<BizTransaction>,
    pub sensor_elements: Vec<SensorElement>,
    pub error_declaration: Option<ErrorDeclaration>,
    /// `certificationInfo` URIs; empty when absent.
    pub certification_info: Vec<String>,
    /// Instance/lot master data (ObjectEvent with ADD, TransformationEvent).
    pub ilmd: Option<Map<String, Value>>,
    /// Top-level extension members.
    pub extensions: Extensions,
}

/// The part an object identifier plays in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Role {
    Parent,
    Epc,
    Quantity,
    Child,
    ChildQuantity,
    Input,
    InputQuantity,
    Output,
    OutputQuantity,
}

/// An object identifier mentioned by an event, with its role.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ObjectRef<'a> {
    pub role: Role,
    pub id: &'a Identifier,
    /// The amount, for the quantity roles.
    pub quantity: Option<f64>,
    pub uom: Option<&'a str>,
}

impl Event {
    /// Every object identifier the event mentions, in this order: parent,
    /// `epcList`, `quantityList`, children, child quantities, inputs, input
    /// quantities, outputs, output quantities (each list in its JSON order).
    /// Locations, parties and business transactions are not objects.
    pub fn identifiers(&self) -> Vec<ObjectRef<'_>> {
        let mut out = Vec::new();
        if let Some(parent) = &self.parent_id {
            out.push(ObjectRef { role: Role::Parent, id: parent, quantity: None, uom: None });
        }
        let lists = [
            (Role::Epc, &self.epcs, Role::Quantity, &self.quantities),
            (Role::Child, &self.child_epcs, Role::ChildQuantity, &self.child_quantities),
            (Role::Input, &self.input_epcs, Role::InputQuantity, &self.input_quantities),
            (Role::Output, &self.output_epcs, Role::OutputQuantity, &self.output_quantities),
        ];
        for (role, ids, quantity_role, quantities) in lists {
            out.extend(ids.iter().map(|id| ObjectRef { role, id, quantity: None, uom: None }));
            out.extend(quantities.iter().map(|q| ObjectRef {
                role: quantity_role,
                id: &q.epc_class,
                quantity: q.quantity,
                uom: q.uom.as_deref(),
            }));
        }
        out
    }

    /// The canonical forms of [`Event::identifiers`], each once, sorted.
    pub fn canonical_identifiers(&self) -> BTreeSet<&str> {
        self.identifiers().into_iter().map(|r| r.id.canonical.as_str()).collect()
    }

    /// Whether this event declares a recall: disposition `recalled`, or a
    /// persistent disposition that sets `recalled`.
    pub fn is_recall(&self) -> bool {
        const RECALLED: &str = "recalled";
        self.disposition.as_deref() == Some(RECALLED)
            || self.persistent_disposition.as_ref().is_some_and(|p| p.set.iter().any(|d| d == RECALLED))
    }

    /// Every sensor report of every sensor element, in order.
    pub fn sensor_reports(&self) -> impl Iterator<Item = &SensorReport> {
        self.sensor_elements.iter().flat_map(|e| e.reports.iter())
    }
}

impl From<EpcisEvent> for Event {
    fn from(e: EpcisEvent) -> Event {
        let kind = e.kind();
        let mut event = Event {
            kind,
            event_time_ms: e.event_time_ms,
            record_time_ms: e.record_time_ms,
            time_zone_offset: e.event_time_zone_offset,
            event_id: e.event_id,
            action: None,
            biz_step: e.biz_step,
            disposition: e.disposition,
            persistent_disposition: None,
            read_point: e.read_point.map(|l| l.id),
            biz_location: e.biz_location.map(|l| l.id),
            epcs: Vec::new(),
            quantities: Vec::new(),
            parent_id: None,
            child_epcs: Vec::new(),
            child_quantities: Vec::new(),
            input_epcs: Vec::new(),
            input_quantities: Vec::new(),
            output_epcs: Vec::new(),
            output_quantities: Vec::new(),
            transformation_id: None,
            sources: e.sources,
            destinations: e.destinations,
            biz_transactions: e.biz_transactions,
            sensor_elements: e.sensor_elements,
            error_declaration: e.error_declaration,
            certification_info: e.certification_info.unwrap_or_default(),
            ilmd: None,
            extensions: e.extensions,
        };
        match e.what {
            What::Object { action, epc_list, quantity_list, persistent_disposition, ilmd } => {
                event.action = Some(action);
                event.epcs = epc_list;
                event.quantities = quantity_list;
                event.persistent_disposition = persistent_disposition;
                event.ilmd = ilmd;
            }
            What::Aggregation { action, parent_id, child_epcs, child_quantity_list } => {
                event.action = Some(action);
                event.parent_id = parent_id;
                event.child_epcs = child_epcs;
                event.child_quantities = child_quantity_list;
            }
            What::Association { action, parent_id, child_epcs, child_quantity_list } => {
                event.action = Some(action);
                event.parent_id = Some(parent_id);
                event.child_epcs = child_epcs;
                event.child_quantities = child_quantity_list;
            }
            What::Transaction { action, parent_id, epc_list, quantity_list } => {
                event.action = Some(action);
                event.parent_id = parent_id;
                event.epcs = epc_list;
                event.quantities = quantity_list;
            }
            What::Transformation {
                transformation_id,
                input_epc_list,
                input_quantity_list,
                output_epc_list,
                output_quantity_list,
                persistent_disposition,
                ilmd,
            } => {
                event.transformation_id = transformation_id;
                event.input_epcs = input_epc_list;
                event.input_quantities = input_quantity_list;
                event.output_epcs = output_epc_list;
                event.output_quantities = output_quantity_list;
                event.persistent_disposition = persistent_disposition;
                event.ilmd = ilmd;
            }
        }
        event
    }
}
