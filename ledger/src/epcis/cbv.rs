//! The GS1 Core Business Vocabulary (CBV 2.0) terms that EPCIS 2.0 JSON
//! restricts, and how a value is checked against and normalized to them.
//!
//! In EPCIS 2.0 JSON a CBV value is written as its bare term (`"shipping"`);
//! GS1's schema refuses the CBV URN and draft-namespace URI forms
//! (`urn:epcglobal:cbv:bizstep:shipping`, `https://ns.gs1.org/cbv/BizStep-shipping`)
//! and accepts any other URI as a user extension. This module checks a field
//! value exactly that way, and goes further in two places (see
//! [`Vocabulary::check`]): the reserved prefixes are matched without regard
//! to ASCII case, and a URI in the ratified CBV namespace
//! (`https://ref.gs1.org/cbv/BizStep-shipping`) is normalized to its bare
//! term, or refused when it names no term of the field's vocabulary.
//!
//! Spec: `spec/epcis.md`, "Vocabularies".

use super::uri::is_uri;

/// One closed CBV (or GS1 Web Vocabulary) list and the ways its terms may be
/// written as URIs.
#[derive(Debug)]
pub struct Vocabulary {
    /// The vocabulary's name in errors, e.g. `"bizStep"`.
    pub name: &'static str,
    /// The bare terms, exactly as GS1's JSON schema enumerates them.
    pub terms: &'static [&'static str],
    /// The term prefix in the CBV web namespace, e.g. `"BizStep-"` in
    /// `https://ref.gs1.org/cbv/BizStep-shipping`.
    web_prefix: Option<&'static str>,
    /// The URN form's vocabulary segment, e.g. `"bizstep"` in
    /// `urn:epcglobal:cbv:bizstep:shipping`.
    urn_segment: Option<&'static str>,
    /// URI prefixes that the schema keeps for GS1 and refuses as extensions.
    reserved: &'static [&'static str],
}

/// Why a vocabulary value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabularyError {
    /// Neither one of the vocabulary's terms nor a URI.
    NotTermOrUri,
    /// A URI in a namespace GS1 reserves (`urn:epcglobal:cbv…`,
    /// `http(s)://ns.gs1.org/cbv/`, `http(s)://(www.)gs1.org/voc/`), which
    /// the schema refuses in JSON.
    ReservedNamespace,
    /// A URI in the CBV namespace `http(s)://ref.gs1.org/cbv/` that does
    /// not name a term of this vocabulary.
    UnknownCbvTerm,
}

/// The URI prefixes GS1's schema keeps out of `vocab-other-uri`.
const CBV_RESERVED: &[&str] = &["urn:epcglobal:cbv", "http://ns.gs1.org/cbv/", "https://ns.gs1.org/cbv/"];
/// The URI prefixes GS1's schema keeps out of `vocab-nonGS1WebVoc-uri`.
const WEB_VOC_RESERVED: &[&str] =
    &["http://gs1.org/voc/", "https://gs1.org/voc/", "http://www.gs1.org/voc/", "https://www.gs1.org/voc/"];
/// The ratified CBV 2.0 namespace, where a URI must name a real term.
const CBV_WEB: &[&str] = &["https://ref.gs1.org/cbv/", "http://ref.gs1.org/cbv/"];
/// Namespaces whose term URIs [`Vocabulary::normalize`] reads.
const CBV_WEB_ANY: &[&str] = &[
    "https://ref.gs1.org/cbv/",
    "http://ref.gs1.org/cbv/",
    "https://ns.gs1.org/cbv/",
    "http://ns.gs1.org/cbv/",
];
const CBV_URN: &str = "urn:epcglobal:cbv:";

impl Vocabulary {
    /// Checks a field value and returns it normalized: the bare term for a
    /// term or a CBV web URI of a term, otherwise the extension URI as given.
    ///
    /// In order: a bare term is accepted as is; a value that is not a URI is
    /// refused; a URI starting with a reserved prefix (ASCII case-insensitive)
    /// is refused; a URI starting with `http(s)://ref.gs1.org/cbv/`
    /// (case-insensitive) must continue with exactly this vocabulary's web
    /// prefix and one of its terms, and is normalized to that term; any
    /// other URI is a user extension, kept verbatim.
    ///
    /// # Errors
    /// The [`VocabularyError`] of the first step that refuses.
    pub fn check(&self, value: &str) -> Result<String, VocabularyError> {
        if let Some(term) = self.term(value) {
            return Ok(term.to_owned());
        }
        if !is_uri(value) {
            return Err(VocabularyError::NotTermOrUri);
        }
        if self.reserved.iter().any(|p| starts_with_ignore_case(value, p)) {
            return Err(VocabularyError::ReservedNamespace);
        }
        if let Some(rest) = strip_any_prefix(value, CBV_WEB) {
            return self.web_term(rest).map(str::to_owned).ok_or(VocabularyError::UnknownCbvTerm);
        }
        Ok(value.to_owned())
    }

    /// Reads any spelling GS1 has used for one of this vocabulary's terms:
    /// the bare term, the CBV URN (`urn:epcglobal:cbv:bizstep:shipping`, its
    /// `urn:epcglobal:cbv:` prefix matched without regard to case) or a CBV
    /// web URI under `ref.gs1.org/cbv/` or `ns.gs1.org/cbv/` (scheme and host
    /// case-insensitive). Returns `None` for anything else. Meant for rule
    /// sets and queries; event fields go through [`Vocabulary::check`].
    pub fn normalize(&self, value: &str) -> Option<&'static str> {
        if let Some(term) = self.term(value) {
            return Some(term);
        }
        if let (Some(rest), Some(segment)) = (strip_any_prefix(value, &[CBV_URN]), self.urn_segment) {
            let term = rest.strip_prefix(segment)?.strip_prefix(':')?;
            return self.term(term);
        }
        self.web_term(strip_any_prefix(value, CBV_WEB_ANY)?)
    }

    /// The vocabulary's own `&'static` copy of `value`, if it is a term.
    fn term(&self, value: &str) -> Option<&'static str> {
        self.terms.iter().copied().find(|t| *t == value)
    }

    /// The term named by the path after a CBV web namespace, e.g. `BizStep-shipping`.
    fn web_term(&self, rest: &str) -> Option<&'static str> {
        self.term(rest.strip_prefix(self.web_prefix?)?)
    }
}

fn starts_with_ignore_case(value: &str, prefix: &str) -> bool {
    value.len() >= prefix.len() && value.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn strip_any_prefix<'v>(value: &'v str, prefixes: &[&str]) -> Option<&'v str> {
    prefixes.iter().find(|p| starts_with_ignore_case(value, p)).map(|p| &value[p.len()..])
}

/// Business steps (`bizStep`), CBV 2.0.
pub static BIZ_STEP: Vocabulary = Vocabulary {
    name: "bizStep",
    terms: &[
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
        "sensor_reporting",
        "sampling",
    ],
    web_prefix: Some("BizStep-"),
    urn_segment: Some("bizstep"),
    reserved: CBV_RESERVED,
};

/// Dispositions (`disposition`, `persistentDisposition`), CBV 2.0.
pub static DISPOSITION: Vocabulary = Vocabulary {
    name: "disposition",
    terms: &[
        "active",
        "container_closed",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "no_pedigree_match",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unknown",
        "available",
        "completeness_verified",
        "completeness_inferred",
        "conformant",
        "container_open",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
        "non_conformant",
        "unavailable",
    ],
    web_prefix: Some("Disp-"),
    urn_segment: Some("disp"),
    reserved: CBV_RESERVED,
};

/// Business transaction types (`bizTransactionList[].type`), CBV 2.0.
pub static BIZ_TRANSACTION_TYPE: Vocabulary = Vocabulary {
    name: "bizTransaction type",
    terms: &[
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    ],
    web_prefix: Some("BTT-"),
    urn_segment: Some("btt"),
    reserved: CBV_RESERVED,
};

/// Source and destination types (`sourceList[].type`, `destinationList[].type`), CBV 2.0.
pub static SOURCE_DESTINATION_TYPE: Vocabulary = Vocabulary {
    name: "source/destination type",
    terms: &["owning_party", "possessing_party", "location"],
    web_prefix: Some("SDT-"),
    urn_segment: Some("sdt"),
    reserved: CBV_RESERVED,
};

/// Error reasons (`errorDeclaration.reason`), CBV 2.0.
pub static ERROR_REASON: Vocabulary = Vocabulary {
    name: "error reason",
    terms: &["did_not_occur", "incorrect_data"],
    web_prefix: Some("ER-"),
    urn_segment: Some("er"),
    reserved: CBV_RESERVED,
};

/// Sensor measurement types (`sensorReport[].type`), GS1 Web Vocabulary.
pub static MEASUREMENT_TYPE: Vocabulary = Vocabulary {
    name: "measurement type",
    terms: &[
        "AbsoluteHumidity",
        "AbsorbedDose",
        "AbsorbedDoseRate",
        "Acceleration",
        "Radioactivity",
        "Altitude",
        "AmountOfSubstance",
        "AmountOfSubstancePerUnitVolume",
        "Angle",
        "AngularAcceleration",
        "AngularMomentum",
        "AngularVelocity",
        "Area",
        "Capacitance",
        "Conductance",
        "Conductivity",
        "Count",
        "Density",
        "Dimensionless",
        "DoseEquivalent",
        "DoseEquivalentRate",
        "DynamicViscosity",
        "ElectricCharge",
        "ElectricCurrent",
        "ElectricCurrentDensity",
        "ElectricFieldStrength",
        "Energy",
        "Exposure",
        "Force",
        "Frequency",
        "Illuminance",
        "Inductance",
        "Irradiance",
        "KinematicViscosity",
        "Length",
        "LinearMomentum",
        "Luminance",
        "LuminousFlux",
        "LuminousIntensity",
        "MagneticFlux",
        "MagneticFluxDensity",
        "MagneticVectorPotential",
        "Mass",
        "MassConcentration",
        "MassFlowRate",
        "MassPerAreaTime",
        "MemoryCapacity",
        "MolalityOfSolute",
        "MolarEnergy",
        "MolarMass",
        "MolarVolume",
        "Power",
        "Pressure",
        "RadiantFlux",
        "RadiantIntensity",
        "RelativeHumidity",
        "Resistance",
        "Resistivity",
        "SolidAngle",
        "SpecificVolume",
        "Speed",
        "SurfaceDensity",
        "SurfaceTension",
        "Temperature",
        "Time",
        "Torque",
        "Voltage",
        "Volume",
        "VolumeFlowRate",
        "VolumeFraction",
        "VolumetricFlux",
        "Wavenumber",
    ],
    web_prefix: None,
    urn_segment: None,
    reserved: WEB_VOC_RESERVED,
};

/// Sensor alert types (`sensorReport[].exception`), GS1 Web Vocabulary.
pub static SENSOR_ALERT_TYPE: Vocabulary = Vocabulary {
    name: "sensor alert type",
    terms: &["ALARM_CONDITION", "ERROR_CONDITION"],
    web_prefix: None,
    urn_segment: None,
    reserved: WEB_VOC_RESERVED,
};

/// Coordinate components (`sensorReport[].component`), CBV 2.0.
pub static COMPONENT: Vocabulary = Vocabulary {
    name: "component",
    terms: &[
        "x",
        "y",
        "z",
        "axial_distance",
        "azimuth",
        "height",
        "spherical_radius",
        "polar_angle",
        "elevation_angle",
        "easting",
        "northing",
        "latitude",
        "longitude",
        "altitude",
    ],
    web_prefix: Some("Comp-"),
    urn_segment: None,
    reserved: CBV_RESERVED,
};

/// The short CBV name of a business step written in any GS1 spelling
/// (see [`Vocabulary::normalize`]), e.g. `"shipping"` for
/// `urn:epcglobal:cbv:bizstep:shipping` and `https://ref.gs1.org/cbv/BizStep-shipping`.
pub fn normalize_biz_step(value: &str) -> Option<&'static str> {
    BIZ_STEP.normalize(value)
}

/// The short CBV name of a disposition written in any GS1 spelling.
pub fn normalize_disposition(value: &str) -> Option<&'static str> {
    DISPOSITION.normalize(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_terms_and_extension_uris_are_accepted() {
        assert_eq!(BIZ_STEP.check("shipping").as_deref(), Ok("shipping"));
        let ext = "http://epcis.example.org/hc/bizstep/summarising_discharge";
        assert_eq!(BIZ_STEP.check(ext).as_deref(), Ok(ext));
        assert_eq!(
            BIZ_TRANSACTION_TYPE.check("urn:gs1:epcisapp:rail:btt:passage").as_deref(),
            Ok("urn:gs1:epcisapp:rail:btt:passage")
        );
        assert_eq!(
            MEASUREMENT_TYPE.check("example:someSensorProperty").as_deref(),
            Ok("example:someSensorProperty")
        );
    }

    #[test]
    fn cbv_web_uris_normalize_to_the_bare_term() {
        assert_eq!(BIZ_STEP.check("https://ref.gs1.org/cbv/BizStep-shipping").as_deref(), Ok("shipping"));
        assert_eq!(DISPOSITION.check("HTTP://Ref.GS1.org/cbv/Disp-recalled").as_deref(), Ok("recalled"));
        assert_eq!(
            ERROR_REASON.check("https://ref.gs1.org/cbv/ER-did_not_occur").as_deref(),
            Ok("did_not_occur")
        );
    }

    #[test]
    fn cbv_web_uris_must_name_a_term_of_the_fields_vocabulary() {
        for bad in [
            "https://ref.gs1.org/cbv/BizStep-shipping2",
            "https://ref.gs1.org/cbv/bizstep-shipping",
            "https://ref.gs1.org/cbv/Disp-in_transit",
            "https://ref.gs1.org/cbv/",
        ] {
            assert_eq!(BIZ_STEP.check(bad), Err(VocabularyError::UnknownCbvTerm), "{bad}");
        }
        assert_eq!(
            MEASUREMENT_TYPE.check("https://ref.gs1.org/cbv/BizStep-shipping"),
            Err(VocabularyError::UnknownCbvTerm)
        );
    }

    #[test]
    fn reserved_namespaces_are_refused_in_any_case() {
        for bad in [
            "urn:epcglobal:cbv:bizstep:shipping",
            "URN:EPCGLOBAL:CBV:bizstep:shipping",
            "https://ns.gs1.org/cbv/BizStep-shipping",
            "http://NS.gs1.org/cbv/BizStep-shipping",
        ] {
            assert_eq!(BIZ_STEP.check(bad), Err(VocabularyError::ReservedNamespace), "{bad}");
        }
        assert_eq!(
            MEASUREMENT_TYPE.check("https://www.gs1.org/voc/MT-Temperature"),
            Err(VocabularyError::ReservedNamespace)
        );
        // The web vocabulary's reservation is not the CBV one.
        assert!(MEASUREMENT_TYPE.check("urn:epcglobal:cbv:mt:x").is_ok());
    }

    #[test]
    fn unknown_bare_words_are_refused() {
        assert_eq!(BIZ_STEP.check("Shipping"), Err(VocabularyError::NotTermOrUri));
        assert_eq!(DISPOSITION.check(""), Err(VocabularyError::NotTermOrUri));
        assert_eq!(SOURCE_DESTINATION_TYPE.check("owner"), Err(VocabularyError::NotTermOrUri));
    }

    #[test]
    fn normalize_reads_every_gs1_spelling() {
        for spelling in [
            "shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
            "URN:EPCglobal:cbv:bizstep:shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "http://ns.gs1.org/cbv/BizStep-shipping",
        ] {
            assert_eq!(normalize_biz_step(spelling), Some("shipping"), "{spelling}");
        }
        assert_eq!(normalize_disposition("urn:epcglobal:cbv:disp:recalled"), Some("recalled"));
        assert_eq!(normalize_biz_step("urn:epcglobal:cbv:disp:recalled"), None);
        assert_eq!(normalize_biz_step("http://example.com/shipping"), None);
    }
}
