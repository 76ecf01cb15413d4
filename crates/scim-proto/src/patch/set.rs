//! `add` and `replace` (RFC 7644 §3.5.2.1, §3.5.2.3): whole attributes, sub-attributes,
//! elements through a value filter, merging complex values, the blank policy, and the
//! coercion of every value written.

use super::elements::{
    array_of, drop_hollow, element_from_filter, element_key, elements, enforce_single_primary,
    is_blank, is_blank_manager, is_manager, is_primary, no_match, object1, put_array,
    remove_indices, remove_key,
};
use super::request::PatchOpKind;
use super::resolve::Patcher;
use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Filter};
use crate::json::{clip_detail, json_kind};
use crate::normalize;
use crate::schema::{AttrType, AttributeDef, Mutability};
use serde_json::{Map, Value};
use std::collections::HashSet;

impl Patcher<'_> {
    /// A blank value for the whole attribute `name`: recorded, and under the clear policy
    /// the attribute is removed.
    fn blank(&mut self, map: &mut Map<String, Value>, name: &str) {
        self.note_blank(name);
        if self.clear_blanks {
            map.shift_remove(name);
        }
    }

    /// `add`/`replace` of a whole attribute.
    pub(super) fn set_whole(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        raw: &Value,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        if is_manager(attr) {
            let c = if is_blank(raw) {
                Value::Null
            } else {
                self.coerce(attr, raw)?
            };
            if is_blank_manager(&c) {
                map.shift_remove(name);
            } else {
                map.insert(name.to_string(), c);
            }
            return Ok(());
        }
        if is_blank(raw) {
            self.blank(map, name);
            return Ok(());
        }
        if attr.multi_valued {
            if raw.as_array().is_some_and(|a| a.is_empty()) {
                if self.kind == PatchOpKind::Replace {
                    map.shift_remove(name);
                }
                return Ok(());
            }
            let c = self.coerce(attr, raw)?;
            if c.is_null() {
                self.blank(map, name);
                return Ok(());
            }
            let new = elements(c);
            let mut arr = match self.kind {
                PatchOpKind::Replace => Vec::with_capacity(new.len()),
                _ => array_of(map, name),
            };
            // Exact duplicates are skipped; elements compare in canonical sub-attribute order.
            let mut present: HashSet<String> = arr.iter().map(|e| element_key(attr, e)).collect();
            // The value array holds at most one primary value (the first: coercion cleared
            // the others, with a warning); it becomes the primary one (RFC 7644 §3.5.2).
            let mut winner = None;
            for e in new {
                if e.is_null() || !present.insert(element_key(attr, &e)) {
                    continue;
                }
                arr.push(e);
                if winner.is_none() && is_primary(&arr[arr.len() - 1]) {
                    winner = Some(arr.len() - 1);
                }
            }
            enforce_single_primary(&mut arr, winner);
            put_array(map, name, arr);
            return Ok(());
        }
        if attr.ty == AttrType::Complex {
            if let Value::Object(o) = raw {
                return self.merge_complex(map, attr, o);
            }
        }
        match self.coerce(attr, raw)? {
            Value::Null => self.blank(map, name),
            c => {
                map.insert(name.to_string(), c);
            }
        }
        Ok(())
    }

    /// Merges the sub-attributes of `o` into the complex single-valued attribute `attr`
    /// (RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged).
    fn merge_complex(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        o: &Map<String, Value>,
    ) -> ScimResult<()> {
        let (fields, blanks) = self.coerce_fields(attr, o)?;
        for b in &blanks {
            self.note_blank(&format!("{}.{b}", attr.name));
        }
        let mut cur = match map.get(&attr.name) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        cur.extend(fields);
        if self.clear_blanks {
            for b in &blanks {
                cur.shift_remove(b);
            }
        }
        if cur.is_empty() {
            map.shift_remove(&attr.name);
        } else {
            map.insert(attr.name.clone(), Value::Object(cur));
        }
        Ok(())
    }

    /// `add`/`replace` of `attr.sub` without a value filter (`name.givenName`, `emails.value`).
    pub(super) fn set_sub(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        sub: &AttributeDef,
        raw: &Value,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        let c = if is_blank(raw) {
            Value::Null
        } else {
            self.coerce(sub, raw)?
        };
        if is_manager(attr) && sub.name == "value" {
            if is_blank(&c) {
                map.shift_remove(name);
            } else if map.get(name).and_then(|m| m.get(&sub.name)) != Some(&c) {
                map.insert(name.to_string(), object1(&sub.name, c));
            }
            return Ok(());
        }
        if is_blank(&c) {
            self.note_blank(&format!("{name}.{}", sub.name));
        }
        if attr.multi_valued {
            let mut arr = array_of(map, name);
            if is_blank(&c) {
                if !self.clear_blanks {
                    return Ok(());
                }
                let all: Vec<usize> = (0..arr.len()).collect();
                for e in arr.iter_mut() {
                    remove_key(e, &sub.name);
                }
                drop_hollow(&mut arr, attr, &all);
            } else if arr.is_empty() {
                arr.push(object1(&sub.name, c));
            } else {
                let sets_primary = sub.name == "primary" && c == Value::Bool(true);
                for e in arr.iter_mut() {
                    if let Value::Object(o) = e {
                        o.insert(sub.name.clone(), c.clone());
                    }
                }
                if sets_primary {
                    enforce_single_primary(&mut arr, Some(0));
                }
            }
            put_array(map, name, arr);
            return Ok(());
        }
        if is_blank(&c) {
            if self.clear_blanks {
                if let Some(Value::Object(o)) = map.get_mut(name) {
                    o.shift_remove(&sub.name);
                    if o.is_empty() {
                        map.shift_remove(name);
                    }
                }
            }
            return Ok(());
        }
        match map.get_mut(name) {
            Some(Value::Object(o)) => {
                o.insert(sub.name.clone(), c);
            }
            _ => {
                map.insert(name.to_string(), object1(&sub.name, c));
            }
        }
        Ok(())
    }

    /// `add`/`replace` through a value filter: `emails[type eq "work"].value`, `emails[type eq "work"]`.
    pub(super) fn set_filtered(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        f: &Filter,
        sub: Option<&AttributeDef>,
        raw: &Value,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        let mut arr = array_of(map, name);
        let matched: Vec<usize> = (0..arr.len())
            .filter(|&i| filter::matches_element(f, &arr[i], attr))
            .collect();
        let touched = match sub {
            Some(s) => {
                let c = if is_blank(raw) {
                    Value::Null
                } else {
                    self.coerce(s, raw)?
                };
                if is_blank(&c) {
                    self.note_blank(&format!("{name}.{}", s.name));
                    if !self.clear_blanks || matched.is_empty() {
                        return Ok(());
                    }
                    for &i in &matched {
                        remove_key(&mut arr[i], &s.name);
                    }
                    drop_hollow(&mut arr, attr, &matched);
                    put_array(map, name, arr);
                    return Ok(());
                }
                if matched.is_empty() {
                    let mut el =
                        element_from_filter(f, attr).ok_or_else(|| no_match(attr, self.kind))?;
                    el.insert(s.name.clone(), c);
                    arr.push(Value::Object(el));
                    vec![arr.len() - 1]
                } else {
                    for &i in &matched {
                        if let Value::Object(o) = &mut arr[i] {
                            o.insert(s.name.clone(), c.clone());
                        }
                    }
                    matched
                }
            }
            None => {
                let one = match raw {
                    Value::Array(a) if a.len() == 1 => &a[0],
                    Value::Array(a) if a.len() > 1 => {
                        return Err(ScimError::invalid_value(format!(
                            "a path with a value filter on '{name}' takes one value, not {}",
                            a.len()
                        )))
                    }
                    other => other,
                };
                let blank = match one {
                    Value::Array(_) => true,
                    Value::Object(o) => o.values().all(is_blank),
                    other => is_blank(other),
                };
                if blank {
                    self.note_blank(name);
                    if self.clear_blanks && !matched.is_empty() {
                        remove_indices(&mut arr, &matched);
                        put_array(map, name, arr);
                    }
                    return Ok(());
                }
                if attr.ty == AttrType::Complex {
                    let Value::Object(o) = one else {
                        return Err(ScimError::invalid_value(format!(
                            "a value of '{name}' must be an object, not {}",
                            json_kind(one)
                        )));
                    };
                    let (fields, blanks) = self.coerce_fields(attr, o)?;
                    for b in &blanks {
                        self.note_blank(&format!("{name}.{b}"));
                    }
                    let blanks = if self.clear_blanks {
                        blanks
                    } else {
                        Vec::new()
                    };
                    if matched.is_empty() {
                        if fields.is_empty() {
                            return Ok(());
                        }
                        let mut el = element_from_filter(f, attr)
                            .ok_or_else(|| no_match(attr, self.kind))?;
                        el.extend(fields);
                        arr.push(Value::Object(el));
                        vec![arr.len() - 1]
                    } else {
                        for &i in &matched {
                            if let Value::Object(e) = &mut arr[i] {
                                e.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                                for b in &blanks {
                                    e.shift_remove(b);
                                }
                            }
                        }
                        let winner = matched.iter().rev().copied().find(|&i| is_primary(&arr[i]));
                        enforce_single_primary(&mut arr, winner);
                        drop_hollow(&mut arr, attr, &matched);
                        Vec::new()
                    }
                } else {
                    let c = elements(self.coerce(attr, one)?);
                    let Some(c) = c.into_iter().next() else {
                        return Ok(());
                    };
                    if matched.is_empty() {
                        return Err(no_match(attr, self.kind));
                    }
                    for &i in &matched {
                        arr[i] = c.clone();
                    }
                    matched
                }
            }
        };
        let winner = touched.iter().rev().copied().find(|&i| is_primary(&arr[i]));
        enforce_single_primary(&mut arr, winner);
        put_array(map, name, arr);
        Ok(())
    }

    /// `v` coerced for `def` (see [`normalize::coerce_value`]); what coercion notes goes to
    /// the request's warnings.
    pub(super) fn coerce(&mut self, def: &AttributeDef, v: &Value) -> ScimResult<Value> {
        normalize::coerce_noting(def, v, &mut self.warnings)
    }

    /// Coerces the sub-attributes of one complex value one by one: unknown and readOnly
    /// ones are dropped with a warning, writeOnly ones silently; blank ones are returned
    /// apart (canonical names) for the blank policy.
    fn coerce_fields(
        &mut self,
        attr: &AttributeDef,
        o: &Map<String, Value>,
    ) -> ScimResult<(Map<String, Value>, Vec<String>)> {
        let mut out = Map::new();
        let mut blanks = Vec::new();
        for (k, v) in o {
            let Some(d) = attr.sub(k) else {
                self.warn(format!(
                    "ignored unknown attribute '{}.{}'",
                    attr.name,
                    clip_detail(k)
                ));
                continue;
            };
            match d.mutability {
                Mutability::ReadOnly => {
                    self.warn(format!(
                        "ignored readOnly attribute '{}.{}'",
                        attr.name, d.name
                    ));
                    continue;
                }
                Mutability::WriteOnly => continue,
                _ => {}
            }
            let c = if is_blank(v) {
                Value::Null
            } else {
                normalize::coerce_value(d, v)?
            };
            if is_blank(&c) {
                out.shift_remove(&d.name);
                blanks.push(d.name.clone());
            } else {
                blanks.retain(|b| b != &d.name);
                out.insert(d.name.clone(), c);
            }
        }
        Ok((out, blanks))
    }
}
