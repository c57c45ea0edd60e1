//! Reading an internally tagged enum (`{"status": "ok", "value": 3}`) without buffering it.
//!
//! serde's derived reader for `#[serde(tag = "...")]` copies the whole object into an
//! intermediate tree first, because the tag may come anywhere; then it reads the variant from
//! that copy. The observation a report embeds is made of such enums (every NVML and host fact,
//! every HTTP exchange, every probe's outcome), so a report was read twice over, the larger
//! part of what `fleet` spends on thousands. serde's writer puts the tag first; this reader
//! takes the tag, then hands the rest of the object straight to the variant's own reader. An
//! object whose tag is not first (edited by hand, written by another tool) is copied into a
//! JSON object, the tag taken out, and the rest read by the same variant readers, so both
//! orders read the same documents as serde's reader does; the one difference is a tag repeated
//! after the first, which the variant's reader ignores as an unknown member where serde's
//! refuses it. Each enum names its tag's values and reads each variant ([`TagFirst`]); its
//! derived `Serialize` stays as it was.
//!
//! Hand-written because serde has no tag-first mode and its buffering type is private.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, Error, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// An internally tagged enum that [`deserialize`] reads tag first.
pub trait TagFirst: Sized {
    /// The tag's key (`status`, `outcome`).
    const TAG: &'static str;
    /// What a reader expected, for messages: "a GPU fact (`status` ok, unsupported or error)".
    const EXPECTING: &'static str;
    /// The tag's values: a unit enum with the same names as the variants.
    type Kind: DeserializeOwned;

    /// Reads variant `kind` from the rest of its object: `rest` answers `deserialize_map` and
    /// `deserialize_struct` with the remaining members, so a struct variant's fields are read
    /// by a `#[derive(Deserialize)]` struct of the same fields, a newtype variant's by its type.
    fn variant<'de, D: Deserializer<'de>>(kind: Self::Kind, rest: D) -> Result<Self, D::Error>;
}

/// Reads a [`TagFirst`] enum; for a `Deserialize` impl: `tagged::deserialize(d)`.
pub fn deserialize<'de, T: TagFirst, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(Reader::<T>(PhantomData))
}

struct Reader<T>(PhantomData<T>);

impl<'de, T: TagFirst> Visitor<'de> for Reader<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        match map.next_key_seed(FirstKey(T::TAG))? {
            Some(FirstKeyIs::Tag) => {
                let kind: T::Kind = map.next_value()?;
                T::variant(kind, MapAccessDeserializer::new(map))
            }
            // The tag elsewhere: the object copied, the tag taken out, the rest read as above.
            other => {
                let mut object = serde_json::Map::new();
                if let Some(FirstKeyIs::Other(key)) = other {
                    object.insert(key, map.next_value()?);
                    while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                        object.insert(key, value);
                    }
                }
                let tag = object.remove(T::TAG).ok_or_else(|| A::Error::missing_field(T::TAG))?;
                let kind = T::Kind::deserialize(tag).map_err(A::Error::custom)?;
                T::variant(kind, serde_json::Value::Object(object)).map_err(A::Error::custom)
            }
        }
    }
}

/// The fields of a `{value}` variant (`Ok { value: T }`).
#[derive(Deserialize)]
pub struct ValueField<T> {
    pub value: T,
}

/// The fields of a `{reason}` variant (`Error { reason: String }`).
#[derive(Deserialize)]
pub struct ReasonField {
    pub reason: String,
}

/// The first key: the tag (compared without copying it), or another key, kept for the
/// buffered reading.
enum FirstKeyIs {
    Tag,
    Other(String),
}

struct FirstKey(&'static str);

impl<'de> DeserializeSeed<'de> for FirstKey {
    type Value = FirstKeyIs;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FirstKeyIs, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for FirstKey {
    type Value = FirstKeyIs;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: Error>(self, key: &str) -> Result<FirstKeyIs, E> {
        Ok(if key == self.0 {
            FirstKeyIs::Tag
        } else {
            FirstKeyIs::Other(key.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tagged enum with each kind of variant: struct, newtype of a struct, unit.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
    #[serde(tag = "status", rename_all = "snake_case")]
    enum Derived {
        Ok { value: u32 },
        Failed(Why),
        Gone,
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
    struct Why {
        reason: String,
        #[serde(default)]
        code: Option<i32>,
    }

    /// The same enum, read tag first.
    #[derive(Debug, PartialEq)]
    struct Fast(Derived);

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Ok,
        Failed,
        Gone,
    }

    #[derive(Deserialize)]
    struct OkFields {
        value: u32,
    }

    #[derive(Deserialize)]
    struct NoFields {}

    impl TagFirst for Fast {
        const TAG: &'static str = "status";
        const EXPECTING: &'static str = "a test status";
        type Kind = Kind;

        fn variant<'de, D: Deserializer<'de>>(kind: Kind, d: D) -> Result<Self, D::Error> {
            Ok(Fast(match kind {
                Kind::Ok => Derived::Ok {
                    value: OkFields::deserialize(d)?.value,
                },
                Kind::Failed => Derived::Failed(Why::deserialize(d)?),
                Kind::Gone => {
                    NoFields::deserialize(d)?;
                    Derived::Gone
                }
            }))
        }
    }

    impl<'de> Deserialize<'de> for Fast {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize(d)
        }
    }

    /// Both readers on one text: the same value, or both refuse it.
    fn same(text: &str) -> Result<Derived, String> {
        let derived = serde_json::from_str::<Derived>(text).map_err(|e| e.to_string());
        let fast = serde_json::from_str::<Fast>(text)
            .map(|f| f.0)
            .map_err(|e| e.to_string());
        assert_eq!(
            derived.is_ok(),
            fast.is_ok(),
            "{text}: derived {derived:?}, tag first {fast:?}"
        );
        if let (Ok(d), Ok(f)) = (&derived, &fast) {
            assert_eq!(d, f, "{text}");
        }
        fast
    }

    #[test]
    fn reads_what_the_derived_reader_reads() {
        for value in [
            Derived::Ok { value: 3 },
            Derived::Failed(Why {
                reason: "lost".into(),
                code: Some(-1),
            }),
            Derived::Gone,
        ] {
            let text = serde_json::to_string(&value).unwrap_or_default();
            assert_eq!(same(&text), Ok(value), "{text}");
        }
        // Tag later, extra members, defaults: the same value either way.
        assert_eq!(same(r#"{"value": 3, "status": "ok"}"#), Ok(Derived::Ok { value: 3 }));
        assert_eq!(
            same(r#"{"status": "ok", "value": 3, "note": [1]}"#),
            Ok(Derived::Ok { value: 3 })
        );
        assert_eq!(
            same(r#"{"status": "failed", "reason": "x"}"#),
            Ok(Derived::Failed(Why {
                reason: "x".into(),
                code: None
            }))
        );
        assert_eq!(same(r#"{"reason": "x", "status": "failed"}"#).map(|_| ()), Ok(()));
    }

    #[test]
    fn refuses_what_the_derived_reader_refuses() {
        for text in [
            r#"{}"#,
            r#"{"status": "nope"}"#,
            r#"{"status": "ok"}"#,
            r#"{"status": "ok", "value": "three"}"#,
            r#"{"value": 3}"#,
            r#"{"status": 1, "value": 3}"#,
            r#"[]"#,
            r#""ok""#,
        ] {
            assert!(same(text).is_err(), "{text}");
        }
    }
}
