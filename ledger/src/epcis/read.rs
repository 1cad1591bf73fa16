//! Reading a JSON value into an [`EpcisEvent`], checking on the way
//! everything GS1's schema checks for an event (and the few things
//! `spec/epcis.md` adds), each refusal naming the JSON path it is about.
//!
//! The order of the checks is fixed: the root's `type`, then every key of
//! an object against its allowed names (keys in byte order), then the
//! fields in the order this file reads them, then the rules that relate
//! fields to each other. So one payload always gets the same error.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::cbv::{self, Vocabulary, VocabularyError};
use super::identifier::{Identifier, IdentifierError};
use super::json::{equality_key, Json, Object, Path};
use super::model::*;
use super::time::{parse_date_time, TimeZoneOffset};
use super::uri::is_uri;
use super::{EpcisError, InvalidReason};

type Result<T> = std::result::Result<T, EpcisError>;

/// Fields every event type has (the schema's `common-event-properties`).
const COMMON: &[&str] = &[
    "@context",
    "type",
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "certificationInfo",
    "errorDeclaration",
];
/// The "why" and "where" fields all five types list.
const SHARED: &[&str] = &[
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
];

fn specific_fields(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::Object => &["action", "epcList", "quantityList", "persistentDisposition", "ilmd"],
        EventKind::Aggregation | EventKind::Association => {
            &["action", "parentID", "childEPCs", "childQuantityList"]
        }
        EventKind::Transaction => &["action", "parentID", "epcList", "quantityList"],
        EventKind::Transformation => &[
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "transformationID",
            "persistentDisposition",
            "ilmd",
        ],
    }
}

/// Reads one event (the whole payload of a statement).
pub(crate) fn read_event(value: &Json<'_>) -> Result<EpcisEvent> {
    let root = Path::Root;
    let map = as_object(value, &root)?;
    let type_path = root.key("type");
    let type_name = match map.get("type") {
        Some(v) => as_str(v, &type_path)?,
        None => return Err(EpcisError::MissingField { field: type_path.render() }),
    };
    let Some(kind) = EventKind::from_type(type_name) else {
        if matches!(type_name, "EPCISDocument" | "EPCISQueryDocument") {
            return Err(EpcisError::DocumentGiven { document_type: type_name.to_owned() });
        }
        return Err(EpcisError::UnsupportedEventType { found: type_name.to_owned() });
    };
    let (f, extensions) = Fields::new(value, &root, &[COMMON, SHARED, specific_fields(kind)], Extra::Uris)?;

    let context = f.req("@context", read_context)?;
    let event_time_ms = f.req("eventTime", read_time)?;
    let record_time_ms = f.opt("recordTime", read_time)?;
    let event_time_zone_offset = f.req("eventTimeZoneOffset", read_offset)?;
    let event_id = f.opt("eventID", read_uri)?;
    let certification_info = f.opt("certificationInfo", read_certification_info)?;
    let error_declaration = f.opt("errorDeclaration", read_error_declaration)?;
    let biz_step = f.opt("bizStep", |v, p| read_vocabulary(v, p, &cbv::BIZ_STEP))?;
    let disposition = f.opt("disposition", |v, p| read_vocabulary(v, p, &cbv::DISPOSITION))?;
    let read_point = f.opt("readPoint", read_location)?;
    let biz_location = f.opt("bizLocation", read_location)?;
    let biz_transactions = f.opt("bizTransactionList", |v, p| read_list(v, p, read_biz_transaction))?;
    let sources =
        f.opt("sourceList", |v, p| read_list(v, p, |v, p| read_source_destination(v, p, "source")))?;
    let destinations = f.opt("destinationList", |v, p| {
        read_list(v, p, |v, p| read_source_destination(v, p, "destination"))
    })?;
    let sensor_elements = f.opt("sensorElementList", |v, p| read_list(v, p, read_sensor_element))?;
    if kind == EventKind::Transaction {
        match &biz_transactions {
            None => return Err(EpcisError::MissingField { field: root.key("bizTransactionList").render() }),
            Some(list) if list.is_empty() => {
                return Err(invalid(&root.key("bizTransactionList"), InvalidReason::Empty));
            }
            Some(_) => {}
        }
    }
    let sensor_elements = sensor_elements.unwrap_or_default();
    let what = read_what(kind, &f, read_point.is_some() && !sensor_elements.is_empty())?;
    Ok(EpcisEvent {
        context,
        event_time_ms,
        record_time_ms,
        event_time_zone_offset,
        event_id,
        certification_info,
        error_declaration,
        what,
        biz_step,
        disposition,
        read_point,
        biz_location,
        biz_transactions: biz_transactions.unwrap_or_default(),
        sources: sources.unwrap_or_default(),
        destinations: destinations.unwrap_or_default(),
        sensor_elements,
        extensions,
    })
}

/// The type-specific fields and the rules on which of them must be present.
/// `sensed_at_read_point`: the event has a non-empty `sensorElementList`
/// and a `readPoint`, which is enough "what" for an ObjectEvent.
fn read_what(kind: EventKind, f: &Fields<'_, '_>, sensed_at_read_point: bool) -> Result<What> {
    let action = || f.req("action", read_action);
    let instances = |key| f.opt(key, read_instance_list);
    let quantities = |key| f.opt(key, |v, p| read_list(v, p, read_quantity));
    let missing = |requirement| EpcisError::MissingWhat { event_type: kind, requirement };
    match kind {
        EventKind::Object => {
            let action = action()?;
            let epc_list = instances("epcList")?;
            let quantity_list = quantities("quantityList")?;
            let persistent_disposition = f.opt("persistentDisposition", read_persistent_disposition)?;
            let ilmd = f.opt("ilmd", read_ilmd)?;
            if epc_list.is_none() && !filled(&quantity_list) && !sensed_at_read_point {
                return Err(missing(
                    "epcList, a non-empty quantityList, or a non-empty sensorElementList with a readPoint",
                ));
            }
            if ilmd.is_some() && action != Action::Add {
                return Err(EpcisError::IlmdWithoutAdd { action });
            }
            Ok(What::Object {
                action,
                epc_list: epc_list.unwrap_or_default(),
                quantity_list: quantity_list.unwrap_or_default(),
                persistent_disposition,
                ilmd,
            })
        }
        EventKind::Aggregation | EventKind::Association => {
            let action = action()?;
            let parent_id = f.opt("parentID", |v, p| read_identifier(v, p, Level::Instance))?;
            let child_epcs = instances("childEPCs")?;
            let child_quantity_list = quantities("childQuantityList")?;
            if !filled(&child_epcs) && !filled(&child_quantity_list) && action != Action::Delete {
                return Err(missing("a non-empty childEPCs or childQuantityList, unless action is DELETE"));
            }
            let (child_epcs, child_quantity_list) =
                (child_epcs.unwrap_or_default(), child_quantity_list.unwrap_or_default());
            if kind == EventKind::Association {
                let Some(parent_id) = parent_id else {
                    return Err(EpcisError::MissingField { field: f.path.key("parentID").render() });
                };
                return Ok(What::Association { action, parent_id, child_epcs, child_quantity_list });
            }
            if parent_id.is_none() && action != Action::Observe {
                return Err(EpcisError::MissingParent { action });
            }
            Ok(What::Aggregation { action, parent_id, child_epcs, child_quantity_list })
        }
        EventKind::Transaction => {
            let action = action()?;
            let parent_id = f.opt("parentID", |v, p| read_identifier(v, p, Level::Instance))?;
            let epc_list = instances("epcList")?;
            let quantity_list = quantities("quantityList")?;
            if epc_list.is_none() && !filled(&quantity_list) && action != Action::Delete {
                return Err(missing("epcList or a non-empty quantityList, unless action is DELETE"));
            }
            Ok(What::Transaction {
                action,
                parent_id,
                epc_list: epc_list.unwrap_or_default(),
                quantity_list: quantity_list.unwrap_or_default(),
            })
        }
        EventKind::Transformation => {
            let input_epc_list = instances("inputEPCList")?;
            let input_quantity_list = quantities("inputQuantityList")?;
            let output_epc_list = instances("outputEPCList")?;
            let output_quantity_list = quantities("outputQuantityList")?;
            let transformation_id = f.opt("transformationID", read_uri)?;
            let persistent_disposition = f.opt("persistentDisposition", read_persistent_disposition)?;
            let ilmd = f.opt("ilmd", read_ilmd)?;
            let inputs = filled(&input_epc_list) || filled(&input_quantity_list);
            let outputs = filled(&output_epc_list) || filled(&output_quantity_list);
            if !(inputs && outputs || transformation_id.is_some() && (inputs || outputs)) {
                return Err(missing(
                    "non-empty inputs and outputs, or a transformationID with non-empty inputs or outputs",
                ));
            }
            Ok(What::Transformation {
                transformation_id,
                input_epc_list: input_epc_list.unwrap_or_default(),
                input_quantity_list: input_quantity_list.unwrap_or_default(),
                output_epc_list: output_epc_list.unwrap_or_default(),
                output_quantity_list: output_quantity_list.unwrap_or_default(),
                persistent_disposition,
                ilmd,
            })
        }
    }
}

/// Whether an optional list is present and not empty.
fn filled<T>(list: &Option<Vec<T>>) -> bool {
    list.as_ref().is_some_and(|l| !l.is_empty())
}

/// What an object may hold besides its listed fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Extra {
    /// Members whose key is a URI (`example:myField`), kept as extensions.
    Uris,
    /// Any member, kept (the schema leaves `readPoint`/`bizLocation` open).
    Anything,
    /// Nothing (`additionalProperties: false`).
    Nothing,
}

/// An object being read: its members and where it is.
pub(super) struct Fields<'v, 'p> {
    map: &'v Object<'v>,
    path: &'p Path<'p>,
}

impl<'v, 'p> Fields<'v, 'p> {
    /// Checks that `value` is an object whose keys are all in `allowed` or
    /// permitted by `extra`, and returns the extension members.
    pub(super) fn new(
        value: &'v Json<'v>,
        path: &'p Path<'p>,
        allowed: &[&[&str]],
        extra: Extra,
    ) -> Result<(Self, Extensions)> {
        let map = as_object(value, path)?;
        let mut extensions = BTreeMap::new();
        // In key order: the first key refused is the same whatever the
        // payload's member order.
        for (key, value) in map.iter() {
            if allowed.iter().any(|names| names.contains(&key)) {
                continue;
            }
            let keep = match extra {
                Extra::Uris => is_uri(key),
                Extra::Anything => true,
                Extra::Nothing => false,
            };
            if !keep {
                return Err(EpcisError::UnknownField { field: path.key(key).render() });
            }
            extensions.insert(key.to_owned(), value.to_value());
        }
        Ok((Fields { map, path }, extensions))
    }

    pub(super) fn opt<T>(
        &self,
        key: &'static str,
        read: impl FnOnce(&'v Json<'v>, &Path<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => read(v, &self.path.key(key)).map(Some),
        }
    }

    pub(super) fn req<T>(
        &self,
        key: &'static str,
        read: impl FnOnce(&'v Json<'v>, &Path<'_>) -> Result<T>,
    ) -> Result<T> {
        self.opt(key, read)?.ok_or_else(|| EpcisError::MissingField { field: self.path.key(key).render() })
    }
}

pub(super) fn invalid(path: &Path<'_>, reason: InvalidReason) -> EpcisError {
    EpcisError::InvalidField { field: path.render(), reason }
}

pub(super) fn wrong_type(path: &Path<'_>, expected: &'static str) -> EpcisError {
    EpcisError::WrongType { field: path.render(), expected }
}

pub(super) fn as_object<'v, 'a>(v: &'v Json<'a>, path: &Path<'_>) -> Result<&'v Object<'a>> {
    v.as_object().ok_or_else(|| wrong_type(path, "an object"))
}

pub(super) fn as_str<'v>(v: &'v Json<'_>, path: &Path<'_>) -> Result<&'v str> {
    v.as_str().ok_or_else(|| wrong_type(path, "a string"))
}

pub(super) fn read_string(v: &Json<'_>, path: &Path<'_>) -> Result<String> {
    as_str(v, path).map(str::to_owned)
}

pub(super) fn read_uri(v: &Json<'_>, path: &Path<'_>) -> Result<String> {
    let s = as_str(v, path)?;
    if !is_uri(s) {
        return Err(invalid(path, InvalidReason::NotUri));
    }
    Ok(s.to_owned())
}

pub(super) fn read_time(v: &Json<'_>, path: &Path<'_>) -> Result<i64> {
    parse_date_time(as_str(v, path)?).ok_or_else(|| invalid(path, InvalidReason::NotDateTime))
}

fn read_offset(v: &Json<'_>, path: &Path<'_>) -> Result<TimeZoneOffset> {
    TimeZoneOffset::parse(as_str(v, path)?).ok_or_else(|| invalid(path, InvalidReason::NotTimeZoneOffset))
}

fn read_number(v: &Json<'_>, path: &Path<'_>) -> Result<f64> {
    // serde_json reads every JSON number into a finite binary64 or an integer.
    v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| wrong_type(path, "a number"))
}

fn read_bool(v: &Json<'_>, path: &Path<'_>) -> Result<bool> {
    v.as_bool().ok_or_else(|| wrong_type(path, "true or false"))
}

fn read_action(v: &Json<'_>, path: &Path<'_>) -> Result<Action> {
    Action::from_name(as_str(v, path)?).ok_or_else(|| invalid(path, InvalidReason::NotAction))
}

fn read_vocabulary(v: &Json<'_>, path: &Path<'_>, vocabulary: &'static Vocabulary) -> Result<String> {
    vocabulary.check(as_str(v, path)?).map_err(|e| {
        let reason = match e {
            VocabularyError::NotTermOrUri => InvalidReason::NotVocabulary { vocabulary: vocabulary.name },
            VocabularyError::ReservedNamespace => {
                InvalidReason::ReservedNamespace { vocabulary: vocabulary.name }
            }
            VocabularyError::UnknownCbvTerm => InvalidReason::UnknownCbvTerm { vocabulary: vocabulary.name },
        };
        invalid(path, reason)
    })
}

/// Which identifiers a field may hold.
#[derive(Clone, Copy)]
enum Level {
    /// Objects, containers, places: not a class (lot, GTIN pattern).
    Instance,
    /// Classes of objects: not one object or place.
    Class,
    /// Anything (locations, parties).
    Any,
}

fn read_identifier(v: &Json<'_>, path: &Path<'_>, level: Level) -> Result<Identifier> {
    let id = Identifier::parse(as_str(v, path)?).map_err(|e| {
        invalid(
            path,
            if e == IdentifierError::NotUri { InvalidReason::NotUri } else { InvalidReason::Identifier(e) },
        )
    })?;
    match level {
        Level::Instance if id.is_class() => Err(invalid(path, InvalidReason::ClassWhereInstanceExpected)),
        Level::Class if id.is_instance() => Err(invalid(path, InvalidReason::InstanceWhereClassExpected)),
        _ => Ok(id),
    }
}

pub(super) fn read_list<T>(
    v: &Json<'_>,
    path: &Path<'_>,
    read_item: impl Fn(&Json<'_>, &Path<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let items = v.as_array().ok_or_else(|| wrong_type(path, "an array"))?;
    items.iter().enumerate().map(|(i, item)| read_item(item, &path.index(i))).collect()
}

/// Refuses the first item (lowest index) whose `key` equals an earlier
/// item's, in O(n log n) since lists may be long.
fn check_unique<'t, T, K: Ord>(items: &'t [T], path: &Path<'_>, key: impl Fn(&'t T) -> K) -> Result<()> {
    let mut order: Vec<(K, usize)> = items.iter().enumerate().map(|(i, t)| (key(t), i)).collect();
    order.sort();
    let mut repeat: Option<(usize, usize)> = None;
    let mut run_start = 0;
    for j in 1..order.len() {
        if order[j].0 != order[run_start].0 {
            run_start = j;
        } else if j == run_start + 1 && repeat.is_none_or(|(index, _)| order[j].1 < index) {
            repeat = Some((order[j].1, order[run_start].1));
        }
    }
    match repeat {
        Some((index, first)) => Err(invalid(&path.index(index), InvalidReason::Duplicate { first })),
        None => Ok(()),
    }
}

/// A list of instance identifiers, no two with the same canonical form.
fn read_instance_list(v: &Json<'_>, path: &Path<'_>) -> Result<Vec<Identifier>> {
    let ids = read_list(v, path, |v, p| read_identifier(v, p, Level::Instance))?;
    check_unique(&ids, path, |id| id.canonical.as_str())?;
    Ok(ids)
}

fn read_quantity(v: &Json<'_>, path: &Path<'_>) -> Result<Quantity> {
    let (f, _) = Fields::new(v, path, &[&["epcClass", "quantity", "uom"]], Extra::Nothing)?;
    let epc_class = f.req("epcClass", |v, p| read_identifier(v, p, Level::Class))?;
    let quantity = f.opt("quantity", |v, p| {
        let q = read_number(v, p)?;
        if q < 0.0 {
            return Err(invalid(p, InvalidReason::NegativeQuantity));
        }
        Ok(q + 0.0) // -0 becomes +0
    })?;
    let uom = f.opt("uom", |v, p| {
        let s = as_str(v, p)?;
        let ok =
            (2..=3).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(s.to_owned())
        } else {
            Err(invalid(p, InvalidReason::NotUom))
        }
    })?;
    Ok(Quantity { epc_class, quantity, uom })
}

pub(super) fn read_context(v: &Json<'_>, path: &Path<'_>) -> Result<Value> {
    let item = |v: &Json<'_>, p: &Path<'_>| match v {
        Json::String(s) if is_uri(s) => Ok(()),
        Json::String(_) => Err(invalid(p, InvalidReason::NotUri)),
        Json::Object(_) => Ok(()),
        _ => Err(wrong_type(p, "a URI or an object")),
    };
    match v {
        Json::Array(items) => {
            read_list(v, path, item)?;
            let keys: Vec<String> = items.iter().map(equality_key).collect();
            check_unique(&keys, path, String::as_str)?;
        }
        _ => item(v, path)?,
    }
    Ok(v.to_value())
}

fn read_certification_info(v: &Json<'_>, path: &Path<'_>) -> Result<Vec<String>> {
    match v {
        Json::Array(_) => read_list(v, path, read_uri),
        Json::String(_) => Ok(vec![read_uri(v, path)?]),
        _ => Err(wrong_type(path, "a URI or an array of URIs")),
    }
}

fn read_error_declaration(v: &Json<'_>, path: &Path<'_>) -> Result<ErrorDeclaration> {
    let allowed: &[&str] = &["declarationTime", "reason", "correctiveEventIDs"];
    let (f, extensions) = Fields::new(v, path, &[allowed], Extra::Uris)?;
    Ok(ErrorDeclaration {
        declaration_time_ms: f.req("declarationTime", read_time)?,
        reason: f.opt("reason", |v, p| read_vocabulary(v, p, &cbv::ERROR_REASON))?,
        corrective_event_ids: f
            .opt("correctiveEventIDs", |v, p| read_list(v, p, read_uri))?
            .unwrap_or_default(),
        extensions,
    })
}

fn read_location(v: &Json<'_>, path: &Path<'_>) -> Result<Location> {
    let (f, extensions) = Fields::new(v, path, &[&["id"]], Extra::Anything)?;
    Ok(Location { id: f.req("id", |v, p| read_identifier(v, p, Level::Any))?, extensions })
}

fn read_biz_transaction(v: &Json<'_>, path: &Path<'_>) -> Result<BizTransaction> {
    let (f, _) = Fields::new(v, path, &[&["type", "bizTransaction"]], Extra::Nothing)?;
    Ok(BizTransaction {
        transaction_type: f.opt("type", |v, p| read_vocabulary(v, p, &cbv::BIZ_TRANSACTION_TYPE))?,
        transaction: f.req("bizTransaction", read_uri)?,
    })
}

/// A `sourceList` or `destinationList` item; `name` is `"source"` or `"destination"`.
fn read_source_destination(v: &Json<'_>, path: &Path<'_>, name: &'static str) -> Result<SourceDestination> {
    let (f, _) = Fields::new(v, path, &[&["type", name]], Extra::Nothing)?;
    Ok(SourceDestination {
        kind: f.req("type", |v, p| read_vocabulary(v, p, &cbv::SOURCE_DESTINATION_TYPE))?,
        id: f.req(name, |v, p| read_identifier(v, p, Level::Any))?,
    })
}

fn read_persistent_disposition(v: &Json<'_>, path: &Path<'_>) -> Result<PersistentDisposition> {
    let (f, _) = Fields::new(v, path, &[&["set", "unset"]], Extra::Nothing)?;
    let list = |v: &Json<'_>, p: &Path<'_>| {
        let items = read_list(v, p, |v, p| read_vocabulary(v, p, &cbv::DISPOSITION))?;
        if items.is_empty() {
            return Err(invalid(p, InvalidReason::Empty));
        }
        check_unique(&items, p, |s| s.as_str())?;
        Ok(items)
    };
    let set = f.opt("set", list)?;
    let unset = f.opt("unset", list)?;
    if set.is_none() && unset.is_none() {
        return Err(invalid(path, InvalidReason::NoSetOrUnset));
    }
    Ok(PersistentDisposition { set: set.unwrap_or_default(), unset: unset.unwrap_or_default() })
}

fn read_ilmd(v: &Json<'_>, path: &Path<'_>) -> Result<Map<String, Value>> {
    let (f, _) = Fields::new(v, path, &[], Extra::Uris)?;
    Ok(f.map.to_map())
}

fn read_sensor_element(v: &Json<'_>, path: &Path<'_>) -> Result<SensorElement> {
    let (f, extensions) = Fields::new(v, path, &[&["sensorMetadata", "sensorReport"]], Extra::Uris)?;
    let metadata = f.opt("sensorMetadata", read_sensor_metadata)?;
    let reports = f.req("sensorReport", |v, p| read_list(v, p, read_sensor_report))?;
    if reports.is_empty() {
        return Err(invalid(&path.key("sensorReport"), InvalidReason::Empty));
    }
    Ok(SensorElement { metadata, reports, extensions })
}

fn read_sensor_metadata(v: &Json<'_>, path: &Path<'_>) -> Result<SensorMetadata> {
    let allowed: &[&str] = &[
        "time",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "startTime",
        "endTime",
        "dataProcessingMethod",
        "bizRules",
    ];
    let (f, extensions) = Fields::new(v, path, &[allowed], Extra::Uris)?;
    Ok(SensorMetadata {
        time_ms: f.opt("time", read_time)?,
        device_id: f.opt("deviceID", read_uri)?,
        device_metadata: f.opt("deviceMetadata", read_uri)?,
        raw_data: f.opt("rawData", read_uri)?,
        start_time_ms: f.opt("startTime", read_time)?,
        end_time_ms: f.opt("endTime", read_time)?,
        data_processing_method: f.opt("dataProcessingMethod", read_uri)?,
        biz_rules: f.opt("bizRules", read_uri)?,
        extensions,
    })
}

fn read_sensor_report(v: &Json<'_>, path: &Path<'_>) -> Result<SensorReport> {
    let allowed: &[&str] = &[
        "type",
        "exception",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "dataProcessingMethod",
        "bizRules",
        "time",
        "microorganism",
        "chemicalSubstance",
        "coordinateReferenceSystem",
        "value",
        "component",
        "stringValue",
        "booleanValue",
        "hexBinaryValue",
        "uriValue",
        "minValue",
        "maxValue",
        "meanValue",
        "sDev",
        "percRank",
        "percValue",
        "uom",
    ];
    let (f, extensions) = Fields::new(v, path, &[allowed], Extra::Uris)?;
    Ok(SensorReport {
        measurement_type: f.req("type", |v, p| read_vocabulary(v, p, &cbv::MEASUREMENT_TYPE))?,
        exception: f.opt("exception", |v, p| read_vocabulary(v, p, &cbv::SENSOR_ALERT_TYPE))?,
        device_id: f.opt("deviceID", read_uri)?,
        device_metadata: f.opt("deviceMetadata", read_uri)?,
        raw_data: f.opt("rawData", read_uri)?,
        data_processing_method: f.opt("dataProcessingMethod", read_uri)?,
        biz_rules: f.opt("bizRules", read_uri)?,
        time_ms: f.opt("time", read_time)?,
        microorganism: f.opt("microorganism", read_uri)?,
        chemical_substance: f.opt("chemicalSubstance", read_uri)?,
        coordinate_reference_system: f.opt("coordinateReferenceSystem", read_uri)?,
        value: f.opt("value", read_number)?,
        component: f.opt("component", |v, p| read_vocabulary(v, p, &cbv::COMPONENT))?,
        string_value: f.opt("stringValue", read_string)?,
        boolean_value: f.opt("booleanValue", read_bool)?,
        hex_binary_value: f.opt("hexBinaryValue", |v, p| {
            let s = as_str(v, p)?;
            if s.is_empty() || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(invalid(p, InvalidReason::NotHexBinary));
            }
            Ok(s.to_owned())
        })?,
        uri_value: f.opt("uriValue", read_uri)?,
        min_value: f.opt("minValue", read_number)?,
        max_value: f.opt("maxValue", read_number)?,
        mean_value: f.opt("meanValue", read_number)?,
        s_dev: f.opt("sDev", read_number)?,
        perc_rank: f.opt("percRank", read_number)?,
        perc_value: f.opt("percValue", read_number)?,
        uom: f.opt("uom", read_string)?,
        extensions,
    })
}
