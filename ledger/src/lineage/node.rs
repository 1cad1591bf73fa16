//! The event node record: the binary encoding of an [`EventSummary`] under
//! `"L" "n" || index` (version 1, exact: every byte read, nothing left).
//!
//! Spec: `spec/lineage.md` §2.1 ("Node encoding").

use super::summary::*;
use thiserror::Error;

impl EventSummary {
    /// The node record (`spec/lineage.md` §2.1).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(256));
        w.u8(1);
        let mut id = [0u8; 32];
        // Built from a StatementId or decoded from 32 bytes: always 64 hex digits.
        hex::decode_to_slice(&self.statement_id, &mut id).expect("statement ID is 64 hex digits");
        w.0.extend_from_slice(&id);
        w.str(&self.issuer);
        w.u8(self.event_type.code());
        w.u8(Action::code(self.action));
        w.0.extend_from_slice(&self.event_time_ms.to_be_bytes());
        w.0.extend_from_slice(&self.time_zone_offset_minutes.to_be_bytes());
        for s in [
            &self.event_id,
            &self.biz_step,
            &self.disposition,
            &self.read_point,
            &self.biz_location,
            &self.transformation_id,
        ] {
            w.opt_str(s.as_deref());
        }
        w.u8(self.recall as u8);
        w.len(self.objects.len());
        for o in &self.objects {
            w.u8(o.role as u8);
            w.str(&o.id);
            match o.quantity {
                None => w.u8(0),
                Some(q) => {
                    w.u8(1);
                    w.0.extend_from_slice(&q.to_bits().to_be_bytes());
                }
            }
            w.opt_str(o.uom.as_deref());
        }
        for list in [&self.sources, &self.destinations] {
            w.len(list.len());
            for p in list {
                w.str(&p.kind);
                w.str(&p.id);
            }
        }
        w.len(self.biz_transactions.len());
        for b in &self.biz_transactions {
            w.opt_str(b.kind.as_deref());
            w.str(&b.id);
        }
        match &self.declaration {
            None => w.u8(0),
            Some(d) => {
                w.u8(1);
                w.0.extend_from_slice(&d.declaration_time_ms.to_be_bytes());
                w.opt_str(d.reason.as_deref());
                w.len(d.corrective_event_ids.len());
                for c in &d.corrective_event_ids {
                    w.str(c);
                }
            }
        }
        w.0
    }

    /// Reads a node record.
    ///
    /// # Errors
    /// [`NodeError`] when the bytes are not a version-1 node, exactly.
    pub(crate) fn decode(bytes: &[u8]) -> Result<EventSummary, NodeError> {
        let mut r = Reader { b: bytes };
        if r.u8()? != 1 {
            return Err(NodeError);
        }
        let statement_id = hex::encode(r.take(32)?);
        let issuer = r.str()?;
        let event_type = EventType::from_code(r.u8()?).ok_or(NodeError)?;
        let action = Action::from_code(r.u8()?).ok_or(NodeError)?;
        let event_time_ms = i64::from_be_bytes(r.array()?);
        let time_zone_offset_minutes = i16::from_be_bytes(r.array()?);
        let event_id = r.opt_str()?;
        let biz_step = r.opt_str()?;
        let disposition = r.opt_str()?;
        let read_point = r.opt_str()?;
        let biz_location = r.opt_str()?;
        let transformation_id = r.opt_str()?;
        let recall = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(NodeError),
        };
        let mut objects = Vec::new();
        for _ in 0..r.len()? {
            let role = Role::from_code(r.u8()?).ok_or(NodeError)?;
            let id = r.str()?;
            let quantity = match r.u8()? {
                0 => None,
                1 => Some(f64::from_bits(u64::from_be_bytes(r.array()?))),
                _ => return Err(NodeError),
            };
            let uom = r.opt_str()?;
            objects.push(ObjectMention { role, id, quantity, uom });
        }
        let mut parties = [Vec::new(), Vec::new()];
        for list in &mut parties {
            for _ in 0..r.len()? {
                list.push(PartyMention { kind: r.str()?, id: r.str()? });
            }
        }
        let [sources, destinations] = parties;
        let mut biz_transactions = Vec::new();
        for _ in 0..r.len()? {
            biz_transactions.push(BizTransactionMention { kind: r.opt_str()?, id: r.str()? });
        }
        let declaration = match r.u8()? {
            0 => None,
            1 => {
                let declaration_time_ms = i64::from_be_bytes(r.array()?);
                let reason = r.opt_str()?;
                let mut corrective_event_ids = Vec::new();
                for _ in 0..r.len()? {
                    corrective_event_ids.push(r.str()?);
                }
                Some(DeclarationSummary { declaration_time_ms, reason, corrective_event_ids })
            }
            _ => return Err(NodeError),
        };
        if !r.b.is_empty() {
            return Err(NodeError);
        }
        Ok(EventSummary {
            statement_id,
            issuer,
            event_type,
            action,
            event_time_ms,
            time_zone_offset_minutes,
            event_id,
            biz_step,
            disposition,
            read_point,
            biz_location,
            objects,
            sources,
            destinations,
            biz_transactions,
            transformation_id,
            recall,
            declaration,
        })
    }
}

/// A node record that does not decode.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("lineage event node does not decode")]
pub struct NodeError;
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }
    fn len(&mut self, mut n: usize) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], NodeError> {
        if self.b.len() < n {
            return Err(NodeError);
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], NodeError> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    fn u8(&mut self) -> Result<u8, NodeError> {
        Ok(self.take(1)?[0])
    }
    fn len(&mut self) -> Result<usize, NodeError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                // A count or length never exceeds the bytes left: refuse
                // before anything is allocated for it.
                return usize::try_from(n).ok().filter(|&n| n <= self.b.len()).ok_or(NodeError);
            }
        }
        Err(NodeError)
    }
    fn str(&mut self) -> Result<String, NodeError> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| NodeError)
    }
    fn opt_str(&mut self) -> Result<Option<String>, NodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(NodeError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epcis;
    use crate::statement::StatementId;

    #[test]
    fn node_round_trips_and_refuses_trailing_and_truncated_bytes() {
        let s = EventSummary::new(
            &StatementId([7; 32]),
            "urn:epc:id:pgln:0614142.00001",
            &epcis::parse_event(crate::lineage::TEST_TRANSFORMATION.as_bytes()).unwrap(),
        );
        assert_eq!(s.event_type, EventType::TransformationEvent);
        assert_eq!(s.objects[0].id, "https://id.gs1.org/01/10614141073464/10/A1");
        assert_eq!(s.objects[0].role, Role::InputQuantity);
        assert_eq!(s.time_zone_offset_minutes, -300);
        let bytes = s.encode();
        assert_eq!(EventSummary::decode(&bytes).unwrap(), s);
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(EventSummary::decode(&long), Err(NodeError));
        for n in 0..bytes.len() {
            assert_eq!(EventSummary::decode(&bytes[..n]), Err(NodeError), "truncated at {n}");
        }
    }
}
