//! The generators' own record of an event: built alongside the EPCIS JSON
//! that is signed and registered, and read by the reference graph
//! (`reference.rs`) without going through the lineage index.

use provlog_ledger::epcis::Identifier;
use provlog_ledger::lineage::fsma::format_time;
use serde_json::{json, Map, Value};

use crate::common::EPCIS_CONTEXT;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    Object,
    Aggregation,
    Transaction,
    Transformation,
    Association,
}

impl Kind {
    pub fn is_containment(self) -> bool {
        matches!(self, Kind::Aggregation | Kind::Association)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum R {
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

impl R {
    pub fn is_output(self) -> bool {
        matches!(self, R::Output | R::OutputQuantity)
    }
    pub fn is_input(self) -> bool {
        matches!(self, R::Input | R::InputQuantity)
    }
    pub fn is_child(self) -> bool {
        matches!(self, R::Child | R::ChildQuantity)
    }
}

/// A lot or class with its amount.
pub type Qty = (String, f64, &'static str);

/// What a generator asks for; `to_json` makes the EPCIS event, `to_ref` the
/// reference record. Identifiers are EPC URIs as written.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub kind: Kind,
    pub action: Option<&'static str>,
    pub time_ms: i64,
    pub event_id: String,
    pub biz_step: Option<&'static str>,
    pub disposition: Option<&'static str>,
    pub location: Option<String>,
    pub epcs: Vec<String>,
    pub quantities: Vec<Qty>,
    pub parent: Option<String>,
    pub children: Vec<String>,
    pub child_quantities: Vec<Qty>,
    pub inputs: Vec<String>,
    pub input_quantities: Vec<Qty>,
    pub outputs: Vec<String>,
    pub output_quantities: Vec<Qty>,
    pub transformation_id: Option<String>,
    pub sources: Vec<(&'static str, String)>,
    pub destinations: Vec<(&'static str, String)>,
    pub biz_transactions: Vec<(&'static str, String)>,
    /// (reason, corrective eventIDs): this is a declaration of `event_id`.
    pub declaration: Option<(&'static str, Vec<String>)>,
}

fn qty(l: &[Qty]) -> Value {
    Value::Array(l.iter().map(|(c, n, u)| json!({"epcClass": c, "quantity": n, "uom": u})).collect())
}

impl Spec {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("@context".into(), json!(EPCIS_CONTEXT));
        let ty = match self.kind {
            Kind::Object => "ObjectEvent",
            Kind::Aggregation => "AggregationEvent",
            Kind::Transaction => "TransactionEvent",
            Kind::Transformation => "TransformationEvent",
            Kind::Association => "AssociationEvent",
        };
        m.insert("type".into(), json!(ty));
        m.insert("eventID".into(), json!(self.event_id));
        m.insert("eventTime".into(), json!(format_time(self.time_ms, 0)));
        m.insert("eventTimeZoneOffset".into(), json!("+00:00"));
        if let Some(a) = self.action {
            m.insert("action".into(), json!(a));
        }
        if let Some(s) = self.biz_step {
            m.insert("bizStep".into(), json!(s));
        }
        if let Some(d) = self.disposition {
            m.insert("disposition".into(), json!(d));
        }
        if let Some(l) = &self.location {
            m.insert("readPoint".into(), json!({"id": l}));
            m.insert("bizLocation".into(), json!({"id": l}));
        }
        match self.kind {
            Kind::Object | Kind::Transaction => {
                m.insert("epcList".into(), json!(self.epcs));
                if !self.quantities.is_empty() {
                    m.insert("quantityList".into(), qty(&self.quantities));
                }
            }
            Kind::Aggregation | Kind::Association => {
                m.insert("childEPCs".into(), json!(self.children));
                if !self.child_quantities.is_empty() {
                    m.insert("childQuantityList".into(), qty(&self.child_quantities));
                }
            }
            Kind::Transformation => {
                for (k, l) in [("inputEPCList", &self.inputs), ("outputEPCList", &self.outputs)] {
                    if !l.is_empty() {
                        m.insert(k.into(), json!(l));
                    }
                }
                for (k, l) in [
                    ("inputQuantityList", &self.input_quantities),
                    ("outputQuantityList", &self.output_quantities),
                ] {
                    if !l.is_empty() {
                        m.insert(k.into(), qty(l));
                    }
                }
                if let Some(t) = &self.transformation_id {
                    m.insert("transformationID".into(), json!(t));
                }
            }
        }
        if let Some(p) = &self.parent {
            m.insert("parentID".into(), json!(p));
        }
        if !self.sources.is_empty() {
            let l: Vec<Value> = self.sources.iter().map(|(t, s)| json!({"type": t, "source": s})).collect();
            m.insert("sourceList".into(), Value::Array(l));
        }
        if !self.destinations.is_empty() {
            let l: Vec<Value> =
                self.destinations.iter().map(|(t, s)| json!({"type": t, "destination": s})).collect();
            m.insert("destinationList".into(), Value::Array(l));
        }
        if !self.biz_transactions.is_empty() {
            let l: Vec<Value> =
                self.biz_transactions.iter().map(|(t, s)| json!({"type": t, "bizTransaction": s})).collect();
            m.insert("bizTransactionList".into(), Value::Array(l));
        }
        if let Some((reason, correctives)) = &self.declaration {
            let mut d = json!({"declarationTime": format_time(self.time_ms, 0), "reason": reason});
            if !correctives.is_empty() {
                d["correctiveEventIDs"] = json!(correctives);
            }
            m.insert("errorDeclaration".into(), d);
        }
        Value::Object(m)
    }

    /// The declaration of this event: a copy with the same eventID and an
    /// `errorDeclaration` (GS1's two-step correction).
    pub fn declared(&self, reason: &'static str, correctives: Vec<String>) -> Spec {
        let mut d = self.clone();
        d.declaration = Some((reason, correctives));
        d
    }

    pub fn to_ref(&self, index: u64) -> RefEvent {
        let c = |s: &String| canonical(s);
        let mut objects = Vec::new();
        objects.extend(self.parent.iter().map(|p| (c(p), R::Parent)));
        objects.extend(self.epcs.iter().map(|e| (c(e), R::Epc)));
        objects.extend(self.quantities.iter().map(|q| (c(&q.0), R::Quantity)));
        objects.extend(self.children.iter().map(|e| (c(e), R::Child)));
        objects.extend(self.child_quantities.iter().map(|q| (c(&q.0), R::ChildQuantity)));
        objects.extend(self.inputs.iter().map(|e| (c(e), R::Input)));
        objects.extend(self.input_quantities.iter().map(|q| (c(&q.0), R::InputQuantity)));
        objects.extend(self.outputs.iter().map(|e| (c(e), R::Output)));
        objects.extend(self.output_quantities.iter().map(|q| (c(&q.0), R::OutputQuantity)));
        RefEvent {
            index,
            time: self.time_ms,
            kind: self.kind,
            action: self.action,
            objects,
            transformation_id: self.transformation_id.clone(),
            event_id: self.event_id.clone(),
            is_declaration: self.declaration.is_some(),
            shipping: self.biz_step == Some("shipping"),
        }
    }
}

/// The canonical form of an identifier (`spec/epcis.md` §5.3).
pub fn canonical(uri: &str) -> String {
    Identifier::parse(uri).expect("generated identifiers are valid").canonical
}

/// One registered event as its generator knows it.
#[derive(Clone, Debug)]
pub struct RefEvent {
    pub index: u64,
    pub time: i64,
    pub kind: Kind,
    pub action: Option<&'static str>,
    pub objects: Vec<(String, R)>,
    pub transformation_id: Option<String>,
    pub event_id: String,
    pub is_declaration: bool,
    pub shipping: bool,
}

impl RefEvent {
    pub fn roles_of(&self, id: &str) -> Vec<R> {
        self.objects.iter().filter(|(o, _)| o == id).map(|(_, r)| *r).collect()
    }
    pub fn with_role(&self, f: impl Fn(R) -> bool) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for (o, r) in &self.objects {
            if f(*r) && !v.contains(o) {
                v.push(o.clone());
            }
        }
        v
    }
    pub fn has_children(&self) -> bool {
        self.objects.iter().any(|(_, r)| r.is_child())
    }
}
