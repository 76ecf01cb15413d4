//! `remove` (RFC 7644 §3.5.2.2): whole attributes, sub-attributes, elements through a
//! value filter, and elements given by value (idempotent: nothing to remove is not an
//! error).

use super::elements::{
    array_of, drop_hollow, elements, is_blank, is_manager, put_array, remove_indices, remove_key,
    same_value, scalar_key,
};
use super::resolve::Patcher;
use crate::error::ScimResult;
use crate::filter::{self, Filter};
use crate::schema::AttributeDef;
use serde_json::{Map, Value};
use std::collections::HashSet;

impl Patcher<'_> {
    /// `remove`, with or without sub-attribute, filter or value.
    pub(super) fn remove(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        sub: Option<&AttributeDef>,
        filter: Option<&Filter>,
        value: Option<&Value>,
    ) -> ScimResult<()> {
        let name = attr.name.as_str();
        if !map.contains_key(name) {
            return Ok(());
        }
        if let Some(f) = filter {
            let mut arr = array_of(map, name);
            let matched: Vec<usize> = (0..arr.len())
                .filter(|&i| filter::matches_element(f, &arr[i], attr))
                .collect();
            if matched.is_empty() {
                return Ok(());
            }
            match sub {
                None => remove_indices(&mut arr, &matched),
                Some(s) => {
                    for &i in &matched {
                        remove_key(&mut arr[i], &s.name);
                    }
                    drop_hollow(&mut arr, attr, &matched);
                }
            }
            put_array(map, name, arr);
            return Ok(());
        }
        match sub {
            Some(s) if is_manager(attr) && s.name == "value" => {
                map.shift_remove(name);
            }
            Some(s) if attr.multi_valued => {
                let mut arr = array_of(map, name);
                let all: Vec<usize> = (0..arr.len()).collect();
                for e in arr.iter_mut() {
                    remove_key(e, &s.name);
                }
                drop_hollow(&mut arr, attr, &all);
                put_array(map, name, arr);
            }
            Some(s) => {
                if let Some(Value::Object(o)) = map.get_mut(name) {
                    o.shift_remove(&s.name);
                    if o.is_empty() {
                        map.shift_remove(name);
                    }
                }
            }
            None => match value {
                Some(v) if attr.multi_valued && !is_blank(v) => self.remove_values(map, attr, v)?,
                _ => {
                    map.shift_remove(name);
                }
            },
        }
        Ok(())
    }

    /// `remove` of a multi-valued attribute with a `value`: drops the elements that carry
    /// every given sub-attribute value (or equal a given simple value).
    fn remove_values(
        &mut self,
        map: &mut Map<String, Value>,
        attr: &AttributeDef,
        v: &Value,
    ) -> ScimResult<()> {
        let given: Vec<Value> = elements(self.coerce(attr, v)?)
            .into_iter()
            .filter(|g| !g.is_null() && g.as_object().is_none_or(|o| !o.is_empty()))
            .collect();
        if given.is_empty() {
            return Ok(());
        }
        // One-sub-attribute values (`[{"value": "a"}, ...]`, the usual shape) are looked up
        // in a set, so that removing many values from a long array stays O(n + m).
        let mut singles: HashSet<(String, String)> = HashSet::new();
        let mut others = Vec::new();
        for g in given {
            match g
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.iter().next())
            {
                Some((k, v)) => {
                    let fold = attr.sub(k).is_some_and(|d| !d.case_exact);
                    singles.insert((k.clone(), scalar_key(v, fold)));
                }
                None => others.push(g),
            }
        }
        let mut arr = array_of(map, &attr.name);
        arr.retain(|e| {
            let single_hit = match e {
                Value::Object(eo) => eo.iter().any(|(k, v)| {
                    let fold = attr.sub(k).is_some_and(|d| !d.case_exact);
                    singles.contains(&(k.clone(), scalar_key(v, fold)))
                }),
                _ => false,
            };
            !(single_hit || others.iter().any(|g| same_value(attr, e, g)))
        });
        put_array(map, &attr.name, arr);
        Ok(())
    }
}
