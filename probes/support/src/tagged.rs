//! Reading an internally tagged enum (`{"status": "ok", "value": 3}`) without buffering it.
//!
//! serde's derived reader for `#[serde(tag = "...")]` copies the whole object into an
//! intermediate tree first, because the tag may come anywhere; then it reads the variant from
//! that copy. The observation a report embeds is made of such enums (every NVML and host fact,
//! every HTTP exchange, every probe's outcome), so a report was read twice over, the larger
//! part of what `fleet` spends on thousands. This reader keeps only the members that come
//! before the tag (none when serde wrote it, tag first; a few small ones in a report's
//! observation, whose keys are sorted), then hands them and the rest of the object straight to
//! the variant's own reader. It reads the same documents as serde's reader does; the one
//! difference is a tag repeated after the first, which the variant's reader ignores as an
//! unknown member where serde's refuses it. Each enum names its tag's values and reads each
//! variant ([`Tagged`]); its derived `Serialize` stays as it was.
//!
//! Hand-written because serde has no such mode and its buffering type is private.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, StringDeserializer};
use serde::de::{DeserializeOwned, DeserializeSeed, Error, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// An internally tagged enum that [`deserialize`] reads without buffering it.
pub trait Tagged: Sized {
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

/// Reads a [`Tagged`] enum; for a `Deserialize` impl: `tagged::deserialize(d)`.
pub fn deserialize<'de, T: Tagged, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_map(Reader::<T>(PhantomData))
}

struct Reader<T>(PhantomData<T>);

impl<'de, T: Tagged> Visitor<'de> for Reader<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        // The members before the tag, kept as JSON; none when the tag comes first.
        let mut before = Vec::new();
        loop {
            match map.next_key_seed(KeyOrTag(T::TAG))? {
                Some(Key::Tag) => {
                    let kind: T::Kind = map.next_value()?;
                    let rest = Replay {
                        before: before.into_iter(),
                        value: None,
                        live: map,
                    };
                    return T::variant(kind, MapAccessDeserializer::new(rest));
                }
                Some(Key::Other(key)) => before.push((key, map.next_value::<serde_json::Value>()?)),
                None => return Err(A::Error::missing_field(T::TAG)),
            }
        }
    }
}

/// The rest of an object for the variant's reader: the members kept from before the tag, then
/// the ones still to be read.
struct Replay<A> {
    before: std::vec::IntoIter<(String, serde_json::Value)>,
    /// The value of the kept member whose key was just handed out.
    value: Option<serde_json::Value>,
    live: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        match self.before.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(StringDeserializer::<A::Error>::new(key)).map(Some)
            }
            None => self.live.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(value).map_err(A::Error::custom),
            None => self.live.next_value_seed(seed),
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

/// [`Tagged`], `Deserialize` and the accessors (`value`, `reason`, `is_ok`, `map`) for a probe's
/// fact enum, tagged `status`, of the shape
/// `Ok { value: T }`, `$a { reason: String }`, `$b { reason: String }` (the GPU and host probes'
/// `Observed`), with `$kind` the enum of its tag's values.
#[macro_export]
macro_rules! value_or_reason {
    ($name:ident, $kind:ident, $expecting:literal, $a:ident, $b:ident) => {
        /// The values of the `status` tag.
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $kind {
            Ok,
            $a,
            $b,
        }

        impl<T: serde::de::DeserializeOwned> $crate::tagged::Tagged for $name<T> {
            const TAG: &'static str = "status";
            const EXPECTING: &'static str = $expecting;
            type Kind = $kind;

            fn variant<'de, D: serde::Deserializer<'de>>(kind: $kind, rest: D) -> Result<Self, D::Error> {
                use serde::Deserialize as _;
                Ok(match kind {
                    $kind::Ok => $name::Ok {
                        value: $crate::tagged::ValueField::deserialize(rest)?.value,
                    },
                    $kind::$a => $name::$a {
                        reason: $crate::tagged::ReasonField::deserialize(rest)?.reason,
                    },
                    $kind::$b => $name::$b {
                        reason: $crate::tagged::ReasonField::deserialize(rest)?.reason,
                    },
                })
            }
        }

        impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for $name<T> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::tagged::deserialize(d)
            }
        }

        impl<T> $name<T> {
            /// The value, when the source answered.
            pub fn value(&self) -> Option<&T> {
                match self {
                    $name::Ok { value } => Some(value),
                    $name::$a { .. } | $name::$b { .. } => None,
                }
            }

            /// Why there is no value.
            pub fn reason(&self) -> Option<&str> {
                match self {
                    $name::Ok { .. } => None,
                    $name::$a { reason } | $name::$b { reason } => Some(reason),
                }
            }

            /// Whether the source answered.
            pub fn is_ok(&self) -> bool {
                matches!(self, $name::Ok { .. })
            }

            /// Transforms the value, keeping a missing value's reason.
            pub fn map<U>(self, transform: impl FnOnce(T) -> U) -> $name<U> {
                match self {
                    $name::Ok { value } => $name::Ok {
                        value: transform(value),
                    },
                    $name::$a { reason } => $name::$a { reason },
                    $name::$b { reason } => $name::$b { reason },
                }
            }
        }
    };
}

/// A key: the tag (compared without copying it), or another key, kept.
enum Key {
    Tag,
    Other(String),
}

struct KeyOrTag(&'static str);

impl<'de> DeserializeSeed<'de> for KeyOrTag {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyOrTag {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: Error>(self, key: &str) -> Result<Key, E> {
        Ok(if key == self.0 {
            Key::Tag
        } else {
            Key::Other(key.to_string())
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

    /// The same enum, read by this module.
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

    impl Tagged for Fast {
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
            "{text}: derived {derived:?}, ours {fast:?}"
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
