//! SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2): parsing and evaluation.
//!
//! ```text
//! emails[type eq "work" and value co "@contoso.com"] or not (active eq false)
//! urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D"
//! members[value eq "2819c223-7f76-453a-919d-413861904646"]          (a PATCH path)
//! ```
//!
//! Operators and attribute names are case-insensitive; string comparison follows the
//! attribute's `caseExact` from the schema. Every parse error is a SCIM 400 (`invalidFilter` for
//! filters, `invalidPath` for PATCH paths) naming the offset; no input panics.

use crate::scim::error::ScimError;
use crate::scim::schema::{split_attr_path, AttrType, Resolved, ResourceTypeDef};
use serde_json::Value;
use std::cmp::Ordering;

/// Longest filter accepted; longer ones are `invalidFilter` (and bound the parser's recursion).
pub const MAX_FILTER_LEN: usize = 8 * 1024;
const MAX_DEPTH: usize = 64;

/// An attribute path: optional schema URN, attribute, optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn parse(text: &str) -> Option<AttrPath> {
        let (urn, name, sub) = split_attr_path(text);
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
                && !s.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        };
        if !ok(name) || sub.is_some_and(|s| !ok(s)) {
            return None;
        }
        Some(AttrPath {
            urn: urn.map(str::to_string),
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }
}

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(u) = &self.urn {
            write!(f, "{u}:")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    /// `emails[type eq "work"]`, optionally followed by `.value op literal` (a form Entra uses
    /// when email is a matching attribute: `emails[type eq "work"].value eq "x"`,
    /// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
        then: Option<(String, CompareOp, Value)>,
    },
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Word(String),
    Str(String),
}

fn lex(input: &str) -> Result<Vec<(usize, Tok)>, (usize, String)> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push((i, Tok::LParen));
                i += 1
            }
            b')' => {
                out.push((i, Tok::RParen));
                i += 1
            }
            b'[' => {
                out.push((i, Tok::LBracket));
                i += 1
            }
            b']' => {
                out.push((i, Tok::RBracket));
                i += 1
            }
            b'"' => {
                let start = i;
                i += 1;
                let mut escaped = false;
                loop {
                    if i >= bytes.len() {
                        return Err((start, "unterminated string".into()));
                    }
                    match bytes[i] {
                        b'\\' if !escaped => escaped = true,
                        b'"' if !escaped => break,
                        _ => escaped = false,
                    }
                    i += 1;
                }
                let raw = &input[start..=i];
                let s: String = serde_json::from_str(raw)
                    .map_err(|_| (start, format!("invalid string literal {raw}")))?;
                out.push((start, Tok::Str(s)));
                i += 1;
            }
            _ if c.is_ascii_alphanumeric() || b"_-:.$+".contains(&c) => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || b"_-:.$+".contains(&bytes[i]))
                {
                    i += 1;
                }
                out.push((start, Tok::Word(input[start..i].to_string())));
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err((i, format!("unexpected character {ch:?}")));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- parser

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
    depth: usize,
}

type PResult<T> = Result<T, (usize, String)>;

impl Parser {
    fn new(input: &str) -> PResult<Parser> {
        Ok(Parser {
            toks: lex(input)?,
            pos: 0,
            len: input.len(),
            depth: 0,
        })
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |(o, _)| *o)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }
    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err((self.offset(), msg.into()))
    }
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn filter(&mut self, in_brackets: bool) -> PResult<Filter> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("filter nests too deeply");
        }
        let mut left = self.and(in_brackets)?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and(in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self, in_brackets: bool) -> PResult<Filter> {
        let mut left = self.unary(in_brackets)?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary(in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> PResult<Filter> {
        if self.peek_word("not") {
            self.pos += 1;
            if self.peek() != Some(&Tok::LParen) {
                return self.err("'not' must be followed by '(' (RFC 7644 §3.4.2.2)");
            }
            let inner = self.unary(in_brackets)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.peek() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.filter(in_brackets)?;
                if self.next() != Some(Tok::RParen) {
                    self.pos -= 1;
                    return self.err("expected ')'");
                }
                Ok(inner)
            }
            Some(Tok::Word(_)) => self.attr_expr(in_brackets),
            Some(_) => self.err("expected an attribute name, '(' or 'not'"),
            None => self.err("unexpected end of filter"),
        }
    }

    fn attr_path(&mut self) -> PResult<AttrPath> {
        let at = self.offset();
        match self.next() {
            Some(Tok::Word(w)) => {
                AttrPath::parse(&w).ok_or((at, format!("'{w}' is not a valid attribute path")))
            }
            _ => Err((at, "expected an attribute name".into())),
        }
    }

    fn comparison_tail(&mut self) -> PResult<Option<(CompareOp, Value)>> {
        let at = self.offset();
        let word = match self.next() {
            Some(Tok::Word(w)) => w,
            _ => {
                return Err((
                    at,
                    "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)".into(),
                ))
            }
        };
        if word.eq_ignore_ascii_case("pr") {
            return Ok(None);
        }
        let Some(op) = CompareOp::parse(&word) else {
            return Err((at, format!("unknown operator '{word}'")));
        };
        let at = self.offset();
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Word(w)) => literal(&w).ok_or((
                at,
                format!("'{w}' is not a value: use a quoted string, a number, true, false or null"),
            ))?,
            _ => return Err((at, format!("expected a value after '{word}'"))),
        };
        Ok(Some((op, value)))
    }

    fn attr_expr(&mut self, in_brackets: bool) -> PResult<Filter> {
        let path = self.attr_path()?;
        if self.peek() == Some(&Tok::LBracket) {
            if in_brackets {
                return self.err("value filters cannot nest (RFC 7644 §3.4.2.2)");
            }
            if path.sub.is_some() {
                return self.err("a value filter applies to an attribute, not a sub-attribute");
            }
            self.pos += 1;
            let inner = self.filter(true)?;
            if self.next() != Some(Tok::RBracket) {
                self.pos -= 1;
                return self.err("expected ']'");
            }
            let mut then = None;
            if let Some(Tok::Word(w)) = self.peek() {
                if let Some(sub) = w.strip_prefix('.') {
                    let sub = sub.to_string();
                    if AttrPath::parse(&sub).is_none_or(|p| p.sub.is_some() || p.urn.is_some()) {
                        return self.err(format!("'{sub}' is not a sub-attribute name"));
                    }
                    self.pos += 1;
                    match self.comparison_tail()? {
                        Some((op, v)) => then = Some((sub, op, v)),
                        None => {
                            return Ok(Filter::ValuePath {
                                attr: path,
                                filter: Box::new(Filter::And(
                                    Box::new(inner),
                                    Box::new(Filter::Present(AttrPath {
                                        urn: None,
                                        name: sub,
                                        sub: None,
                                    })),
                                )),
                                then: None,
                            })
                        }
                    }
                }
            }
            return Ok(Filter::ValuePath {
                attr: path,
                filter: Box::new(inner),
                then,
            });
        }
        match self.comparison_tail()? {
            None => Ok(Filter::Present(path)),
            Some((op, value)) => Ok(Filter::Compare { path, op, value }),
        }
    }
}

fn literal(w: &str) -> Option<Value> {
    match w.to_ascii_lowercase().as_str() {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "null" => return Some(Value::Null),
        _ => {}
    }
    if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        if let Ok(n) = serde_json::from_str::<serde_json::Number>(w) {
            return Some(Value::Number(n));
        }
    }
    None
}

/// Parses a filter. Errors are `400 invalidFilter` with the offset.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!(
            "filter is longer than {MAX_FILTER_LEN} bytes"
        )));
    }
    let run = || -> PResult<Filter> {
        let mut p = Parser::new(input)?;
        if p.peek().is_none() {
            return p.err("empty filter");
        }
        let f = p.filter(false)?;
        if p.peek().is_some() {
            return p.err("unexpected text after the filter");
        }
        Ok(f)
    };
    run().map_err(|(at, msg)| {
        ScimError::invalid_filter(format!("{msg} at offset {at} of filter {input:?}"))
    })
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath`, or `attr[filter]` with an optional `.sub`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// Sub-attribute after a value filter: the `value` of `emails[type eq "work"].value`.
    pub sub_after_filter: Option<String>,
}

impl PatchPath {
    /// The sub-attribute the path ends on, wherever it was written.
    pub fn sub(&self) -> Option<&str> {
        self.sub_after_filter
            .as_deref()
            .or(self.attr.sub.as_deref())
    }
}

/// Parses a PATCH path. Errors are `400 invalidPath` with the offset.
pub fn parse_path(input: &str) -> Result<PatchPath, ScimError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_path("path is too long"));
    }
    let run = || -> PResult<PatchPath> {
        let mut p = Parser::new(input)?;
        let attr = p.attr_path()?;
        let mut out = PatchPath {
            attr,
            filter: None,
            sub_after_filter: None,
        };
        if p.peek() == Some(&Tok::LBracket) {
            if out.attr.sub.is_some() {
                return p.err("a value filter applies to an attribute, not a sub-attribute");
            }
            p.pos += 1;
            out.filter = Some(p.filter(true)?);
            if p.next() != Some(Tok::RBracket) {
                p.pos -= 1;
                return p.err("expected ']'");
            }
            if let Some(Tok::Word(w)) = p.peek() {
                let Some(sub) = w.strip_prefix('.') else {
                    return p.err("expected '.subAttribute' or the end of the path");
                };
                if AttrPath::parse(sub).is_none_or(|s| s.sub.is_some() || s.urn.is_some()) {
                    return p.err(format!("'{sub}' is not a sub-attribute name"));
                }
                out.sub_after_filter = Some(sub.to_string());
                p.pos += 1;
            }
        }
        if p.peek().is_some() {
            return p.err("unexpected text after the path");
        }
        Ok(out)
    };
    run().map_err(|(at, msg)| {
        ScimError::invalid_path(format!("{msg} at offset {at} of path {input:?}"))
    })
}

// ---------------------------------------------------------------- evaluation

/// Finds `key` in a JSON object case-insensitively (attribute names are case-insensitive,
/// RFC 7643 §2.1).
pub fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The value(s) at the top-level attribute of `path` (before any sub-attribute).
pub fn top_value<'a>(
    resource: &'a Value,
    rt: &ResourceTypeDef,
    urn: Option<&str>,
    name: &str,
) -> Option<&'a Value> {
    match urn {
        Some(u) if !u.eq_ignore_ascii_case(rt.schema.id) => get_ci(get_ci(resource, u)?, name),
        _ => get_ci(resource, name),
    }
}

/// Evaluation context: the resource type, and the attribute whose values a `[...]` filter sees.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    rt: &'a ResourceTypeDef,
    parent: Option<&'a AttrPath>,
}

impl Ctx<'_> {
    fn def(&self, path: &AttrPath) -> Option<&crate::scim::schema::AttrDef> {
        let r = match self.parent {
            None => self
                .rt
                .resolve(path.urn.as_deref(), &path.name, path.sub.as_deref()),
            Some(p) => self.rt.resolve(p.urn.as_deref(), &p.name, Some(&path.name)),
        };
        match r {
            Resolved::Known(d) => Some(d),
            Resolved::Unknown => None,
        }
    }
}

impl Filter {
    /// Does `resource` match? `rt` supplies case-exactness and types.
    pub fn matches(&self, resource: &Value, rt: &ResourceTypeDef) -> bool {
        self.eval(resource, Ctx { rt, parent: None })
    }

    /// Matches one element of a multi-valued attribute against a `[...]` filter of `parent`.
    pub fn matches_element(
        &self,
        element: &Value,
        rt: &ResourceTypeDef,
        parent: &AttrPath,
    ) -> bool {
        self.eval(
            element,
            Ctx {
                rt,
                parent: Some(parent),
            },
        )
    }

    fn eval(&self, v: &Value, ctx: Ctx<'_>) -> bool {
        match self {
            Filter::And(a, b) => a.eval(v, ctx) && b.eval(v, ctx),
            Filter::Or(a, b) => a.eval(v, ctx) || b.eval(v, ctx),
            Filter::Not(a) => !a.eval(v, ctx),
            Filter::Present(path) => values_at(v, path, ctx, false).iter().any(|x| present(x)),
            Filter::Compare { path, op, value } => {
                let def = ctx.def(path);
                let exact = def.is_some_and(|d| d.case_exact);
                let ty = def.map(|d| d.ty);
                let vals = values_at(v, path, ctx, true);
                match op {
                    CompareOp::Ne => !vals
                        .iter()
                        .any(|x| compare(x, CompareOp::Eq, value, exact, ty)),
                    CompareOp::Eq if value.is_null() => !vals.iter().any(|x| present(x)),
                    _ => vals.iter().any(|x| compare(x, *op, value, exact, ty)),
                }
            }
            Filter::ValuePath { attr, filter, then } => {
                let Some(top) = (match ctx.parent {
                    None => top_value(v, ctx.rt, attr.urn.as_deref(), &attr.name),
                    Some(_) => None,
                }) else {
                    return false;
                };
                let inner = Ctx {
                    rt: ctx.rt,
                    parent: Some(attr),
                };
                elements(top).any(|el| {
                    filter.eval(el, inner)
                        && match then {
                            None => true,
                            Some((sub, op, lit)) => {
                                let p = AttrPath {
                                    urn: None,
                                    name: sub.clone(),
                                    sub: None,
                                };
                                Filter::Compare {
                                    path: p,
                                    op: *op,
                                    value: lit.clone(),
                                }
                                .eval(el, inner)
                            }
                        }
                })
            }
        }
    }
}

fn elements(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Array(a) => Box::new(a.iter()),
        other => Box::new(std::iter::once(other)),
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(present),
        Value::Object(o) => o.values().any(present),
        _ => true,
    }
}

/// Every value `path` reaches, flattening multi-valued attributes. A complex value compared
/// without a sub-attribute is compared through its `value` sub-attribute.
fn values_at<'a>(v: &'a Value, path: &AttrPath, ctx: Ctx<'_>, deref: bool) -> Vec<&'a Value> {
    let top = match ctx.parent {
        // Inside `[...]`, names are sub-attributes of the element.
        Some(_) => get_ci(v, &path.name),
        None => top_value(v, ctx.rt, path.urn.as_deref(), &path.name),
    };
    let Some(top) = top else { return Vec::new() };
    let mut out = Vec::new();
    for el in elements(top) {
        let target = match (&path.sub, ctx.parent) {
            (Some(s), None) => get_ci(el, s),
            _ => Some(el),
        };
        match target {
            Some(obj @ Value::Object(_)) if deref => {
                if let Some(x) = get_ci(obj, "value") {
                    out.push(x)
                }
            }
            Some(Value::Array(a)) => out.extend(a.iter()),
            Some(x) => out.push(x),
            None => {}
        }
    }
    out
}

fn fold(s: &str, exact: bool) -> std::borrow::Cow<'_, str> {
    if exact {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

fn compare(actual: &Value, op: CompareOp, lit: &Value, exact: bool, ty: Option<AttrType>) -> bool {
    match (actual, lit) {
        (Value::String(a), Value::String(b)) => {
            if ty == Some(AttrType::DateTime) {
                if let (Ok(x), Ok(y)) = (
                    chrono::DateTime::parse_from_rfc3339(a),
                    chrono::DateTime::parse_from_rfc3339(b),
                ) {
                    return ordered(x.cmp(&y), op);
                }
            }
            if op == CompareOp::Eq && !exact && a.is_ascii() && b.is_ascii() {
                return a.eq_ignore_ascii_case(b);
            }
            let (a, b) = (fold(a, exact), fold(b, exact));
            match op {
                CompareOp::Co => a.contains(b.as_ref()),
                CompareOp::Sw => a.starts_with(b.as_ref()),
                CompareOp::Ew => a.ends_with(b.as_ref()),
                _ => ordered(a.cmp(&b), op),
            }
        }
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).is_some_and(|o| ordered(o, op)),
            _ => false,
        },
        (Value::Bool(a), Value::Bool(b)) => op == CompareOp::Eq && a == b,
        // A boolean stored from Entra's "True"/"False" strings is still a boolean; a client
        // comparing with a string literal gets the same answer.
        (Value::Bool(a), Value::String(b)) => {
            op == CompareOp::Eq && b.eq_ignore_ascii_case(if *a { "true" } else { "false" })
        }
        _ => false,
    }
}

fn ordered(o: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Rejects operators the attribute's type does not support (RFC 7644 §3.4.2.2: `gt` and friends
/// on booleans and binaries are `invalidFilter`).
pub fn validate(filter: &Filter, rt: &ResourceTypeDef) -> Result<(), ScimError> {
    fn walk(f: &Filter, ctx: Ctx<'_>) -> Result<(), ScimError> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                walk(a, ctx)?;
                walk(b, ctx)
            }
            Filter::Not(a) => walk(a, ctx),
            Filter::Present(_) => Ok(()),
            Filter::Compare { path, op, value } => {
                let ty = ctx.def(path).map(|d| d.ty);
                let ordering = matches!(
                    op,
                    CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
                );
                let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
                if (ordering || substring)
                    && matches!(ty, Some(AttrType::Boolean) | Some(AttrType::Binary))
                {
                    return Err(ScimError::invalid_filter(format!(
                        "operator {op:?} is not defined for attribute '{path}' of type {ty:?}"
                    )));
                }
                if (ordering || substring) && (value.is_null() || value.is_boolean()) {
                    return Err(ScimError::invalid_filter(format!(
                        "operator {op:?} needs a string or number, not {value}"
                    )));
                }
                Ok(())
            }
            Filter::ValuePath { attr, filter, then } => {
                let inner = Ctx {
                    rt: ctx.rt,
                    parent: Some(attr),
                };
                walk(filter, inner)?;
                if let Some((sub, op, v)) = then {
                    let p = AttrPath {
                        urn: None,
                        name: sub.clone(),
                        sub: None,
                    };
                    walk(
                        &Filter::Compare {
                            path: p,
                            op: *op,
                            value: v.clone(),
                        },
                        inner,
                    )?;
                }
                Ok(())
            }
        }
    }
    walk(filter, Ctx { rt, parent: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{GROUP_TYPE, USER_TYPE};
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "abc", "externalId": "Ext-1", "userName": "Alice@Contoso.com", "active": false,
            "name": {"givenName": "Alice", "familyName": "Smith"},
            "emails": [{"type": "work", "value": "alice@contoso.com", "primary": true},
                       {"type": "home", "value": "alice@home.example"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": {"value": "m1"}},
            "urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User": {"nativeObjectId": "N-1"},
            "meta": {"created": "2024-01-02T03:04:05Z", "lastModified": "2024-05-01T00:00:00Z"}
        })
    }

    fn m(f: &str) -> bool {
        parse_filter(f).unwrap().matches(&user(), &USER_TYPE)
    }

    #[test]
    fn operators_and_case_rules() {
        assert!(
            m(r#"userName eq "alice@contoso.com""#),
            "userName is caseExact=false"
        );
        assert!(m(r#"USERNAME EQ "ALICE@CONTOSO.COM""#));
        assert!(!m(r#"externalId eq "ext-1""#), "externalId is caseExact");
        assert!(m(r#"externalId eq "Ext-1""#));
        assert!(!m(r#"id eq "ABC""#));
        assert!(m(r#"userName co "contoso""#));
        assert!(m(r#"userName sw "alice""#));
        assert!(m(r#"userName ew ".COM""#));
        assert!(m(r#"userName ne "bob""#));
        assert!(m("title ne \"x\""), "ne matches an absent attribute");
        assert!(m("userName pr"));
        assert!(!m("title pr"));
        assert!(
            m("name pr"),
            "a complex attribute without `value` is present"
        );
        assert!(m(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr"
        ));
        assert!(m("active eq false"));
        assert!(m(r#"meta.created lt "2024-02-01T00:00:00Z""#));
        assert!(m(r#"meta.lastModified ge "2024-05-01T00:00:00+00:00""#));
        assert!(m(r#"name.givenName gt "Aa""#));
        assert!(m("not (active eq true)"));
        assert!(m(
            r#"(userName eq "x" or name.familyName le "smith") and active eq false"#
        ));
    }

    #[test]
    fn complex_and_urn_filters() {
        assert!(m(r#"emails[type eq "work" and value co "@contoso"]"#));
        assert!(!m(r#"emails[type eq "work" and value co "@home"]"#));
        assert!(m(r#"emails co "home.example""#));
        assert!(m(r#"emails.value eq "alice@home.example""#));
        assert!(m(r#"emails[type eq "work"].value eq "alice@contoso.com""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@contoso.com""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:nativeObjectId eq "N-1""#
        ));
    }

    #[test]
    fn group_members() {
        let g = json!({"displayName": "IT-Admins", "members": [{"value": "u1"}, {"value": "u2"}]});
        let f = parse_filter(r#"members[value eq "u2"]"#).unwrap();
        assert!(f.matches(&g, &GROUP_TYPE));
        assert!(parse_filter(r#"displayName eq "it-admins""#)
            .unwrap()
            .matches(&g, &GROUP_TYPE));
    }

    #[test]
    fn bad_filters_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            "userName eq",
            r#"userName xx "a""#,
            r#"userName eq "a"#,
            "(userName pr",
            r#"emails[type eq "work""#,
            r#"emails[type[x eq "y"] eq "a"]"#,
            "userName eq bare",
            "not userName pr",
            r#"userName eq "a" extra"#,
            "a eq 1 or",
            "\u{1F600}",
        ] {
            let e = parse_filter(bad).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert_eq!(
                e.scim_type,
                Some(crate::scim::error::ScimType::InvalidFilter),
                "{bad}"
            );
        }
        let f = parse_filter("active gt true").unwrap();
        assert!(validate(&f, &USER_TYPE).is_err());
    }

    #[test]
    fn patch_paths() {
        let p = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.attr.name, "emails");
        assert_eq!(p.sub(), Some("value"));
        let p = parse_path(r#"members[value eq "2819c223"]"#).unwrap();
        assert!(p.filter.is_some() && p.sub().is_none());
        let p = parse_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")
            .unwrap();
        assert_eq!(
            p.attr.urn.as_deref(),
            Some(crate::scim::schema::ENTERPRISE_URN)
        );
        let p = parse_path("name.givenName").unwrap();
        assert_eq!(p.sub(), Some("givenName"));
        for bad in [
            "",
            "emails[",
            "emails[type eq \"work\"]x",
            "a b",
            "name.givenName[type eq \"x\"]",
        ] {
            assert_eq!(
                parse_path(bad).unwrap_err().scim_type,
                Some(crate::scim::error::ScimType::InvalidPath),
                "{bad}"
            );
        }
    }
}
