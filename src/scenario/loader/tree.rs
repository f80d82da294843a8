//! The scenario file as a plain YAML tree with a position on every node and key. The typed
//! model cannot keep positions (its fields are plain `String`s and `Vec`s, and its untagged and
//! flattened parts go through serde's buffering, which drops them), so the loader reads the file
//! a second time into this tree and looks positions up by path: `steps[3].fault.match`.
//!
//! `- fault: { match: "PATCH /Groups/*", effect: drop-response }` on line 12 becomes a sequence
//! item at 12:5 holding a map whose key `fault` is at 12:5 and whose value map is at 12:12.

use super::super::diagnostics::Position;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// One YAML node and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub pos: Position,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys are always `Kind::Str` (the key's text).
    Map(Vec<(Node, Node)>),
}

/// One step of a path into the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A path segment that owns its key, for paths found by searching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedSeg {
    Key(String),
    Index(usize),
}

/// The node found at a position, and the path to it (ending with the key's own name when the
/// node is a mapping key).
#[derive(Debug)]
pub(crate) struct Located<'a> {
    pub path: Vec<OwnedSeg>,
    pub node: &'a Node,
}

impl Located<'_> {
    /// Whether the node is the mapping key `name` (and not a value that starts at the same place).
    pub fn is_key(&self, name: &str) -> bool {
        self.node.as_str() == Some(name)
            && matches!(self.path.last(), Some(OwnedSeg::Key(k)) if k == name)
    }

    /// The nearest mapping key on the path: the field name the node is, or belongs to.
    pub fn field(&self) -> Option<&str> {
        self.path.iter().rev().find_map(|s| match s {
            OwnedSeg::Key(k) => Some(k.as_str()),
            OwnedSeg::Index(_) => None,
        })
    }

    /// The key above the node's own key: the mapping an unknown key was found in.
    pub fn parent_field(&self) -> Option<&str> {
        let mut keys = self.path.iter().rev().filter_map(|s| match s {
            OwnedSeg::Key(k) => Some(k.as_str()),
            OwnedSeg::Index(_) => None,
        });
        keys.next();
        keys.next()
    }
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The key node itself, to point at `users:` rather than at its value.
    pub fn key(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k)
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// Follows `path` as far as it exists and returns the deepest node reached, so a position
    /// is always found even when the typed model and the tree disagree (merge keys, aliases).
    pub fn deepest(&self, path: &[Seg<'_>]) -> &Node {
        let mut node = self;
        for seg in path {
            let next = match seg {
                Seg::Key(k) => node.get(k),
                Seg::Index(i) => node.items().get(*i),
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// The exact node at `path`, if it exists.
    pub fn at(&self, path: &[Seg<'_>]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match seg {
                Seg::Key(k) => node.get(k)?,
                Seg::Index(i) => node.items().get(*i)?,
            };
        }
        Some(node)
    }

    /// The exact node at a path found by [`Node::locate`].
    pub fn at_owned(&self, path: &[OwnedSeg]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match seg {
                OwnedSeg::Key(k) => node.get(k)?,
                OwnedSeg::Index(i) => node.items().get(*i)?,
            };
        }
        Some(node)
    }

    /// Position of the key that ends `path` (`users:`), or of the deepest node on it.
    pub fn key_pos(&self, path: &[Seg<'_>]) -> Position {
        if let Some((Seg::Key(last), parent)) = path.split_last() {
            if let Some(key) = self.at(parent).and_then(|p| p.key(last)) {
                return key.pos;
            }
        }
        self.deepest(path).pos
    }

    /// The deepest node (a key or a value) starting exactly at `pos`, with its path. Where a
    /// block mapping and its first key share a position, the key wins: it is the deeper node.
    pub fn locate(&self, pos: Position) -> Option<Located<'_>> {
        let mut path = Vec::new();
        let mut best = None;
        self.locate_into(pos, &mut path, &mut best);
        best
    }

    fn locate_into<'a>(
        &'a self,
        pos: Position,
        path: &mut Vec<OwnedSeg>,
        best: &mut Option<Located<'a>>,
    ) {
        if self.pos == pos {
            let deeper = best.as_ref().is_none_or(|b| path.len() >= b.path.len());
            if deeper {
                *best = Some(Located {
                    path: path.clone(),
                    node: self,
                });
            }
        }
        match &self.kind {
            Kind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(OwnedSeg::Index(i));
                    item.locate_into(pos, path, best);
                    path.pop();
                }
            }
            Kind::Map(entries) => {
                for (key, value) in entries {
                    path.push(OwnedSeg::Key(key.as_str().unwrap_or_default().to_owned()));
                    key.locate_into(pos, path, best);
                    value.locate_into(pos, path, best);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// A short rendering of the node for messages: `initail`, `a list`, `a mapping`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "nothing (null)".to_owned(),
            Kind::Bool(b) => format!("`{b}`"),
            Kind::Int(i) => format!("`{i}`"),
            Kind::Float(f) => format!("`{f}`"),
            Kind::Str(s) => format!("`{s}`"),
            Kind::Seq(_) => "a list".to_owned(),
            Kind::Map(_) => "a mapping".to_owned(),
        }
    }
}

fn position(location: &serde_saphyr::Location) -> Position {
    Position {
        line: u32::try_from(location.line()).unwrap_or(u32::MAX),
        column: u32::try_from(location.column()).unwrap_or(u32::MAX),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Kind>::deserialize(deserializer)?;
        Ok(Node {
            pos: position(&spanned.referenced),
            kind: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

/// A mapping key, read as its text: `n: 1` keeps the key `n` whatever the boolean rules.
struct KeyNode(Node);

impl<'de> Deserialize<'de> for KeyNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<KeyText>::deserialize(deserializer)?;
        Ok(KeyNode(Node {
            pos: position(&spanned.referenced),
            kind: Kind::Str(spanned.value.0),
        }))
    }
}

struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a plain key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<KeyText, E> {
                Ok(KeyText(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        deserializer.deserialize_string(KeyVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Kind, E> {
        Ok(i128::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(KeyNode(key)) = map.next_key::<KeyNode>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }
}
