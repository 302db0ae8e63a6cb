//! PATCH (RFC 7644 §3.5.2): the request message and its application to a [`Resource`].
//!
//! ```
//! use scim_model::patch::PatchOp;
//! use scim_model::{Limits, Resource, SchemaRegistry};
//! use serde_json::json;
//!
//! let mut user: Resource = serde_json::from_value(json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen", "active": true
//! })).unwrap();
//! // What Microsoft Entra sends to disable a user: a capitalised op, a boolean as a string.
//! let patch = PatchOp::from_json_str(r#"{
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
//! }"#, &Limits::DEFAULT).unwrap();
//! let registry = SchemaRegistry::default();
//! assert!(patch.apply(&mut user, &registry).unwrap());
//! assert_eq!(user.get("active"), Some(&json!(false)));
//! // Applying it again changes nothing.
//! assert!(!patch.apply(&mut user, &registry).unwrap());
//! ```
//!
//! # Atomicity and cost
//!
//! A request applies all of its operations or none: when one fails, the resource is left
//! exactly as it was (same values, same key order). Every write goes through an undo log that
//! moves the overwritten value aside instead of cloning the resource, so removing one member
//! of a group of 10 000 costs the removal, not a copy of the group. The returned `bool` says
//! whether anything changed; an operation that writes the value already there (`replace` with
//! the current value, `add` of a member already present, `remove` of an absent attribute)
//! changes nothing.
//!
//! # Semantics
//!
//! Attribute names and URNs are case-insensitive; an existing attribute keeps its spelling,
//! a new one takes the spelling of the request. Operations apply in order.
//!
//! | path | `add` | `replace` | `remove` |
//! |---|---|---|---|
//! | none | each attribute of the value object, as `add` with its path | each attribute, as `replace` with its path | refused: `noTarget` (at parse time) |
//! | `attr` single-valued | set | set | remove |
//! | `attr` complex | set the given sub-attributes, keep the others | same as add (RFC 7644 §3.5.2.3) | remove |
//! | `attr` multi-valued | append the values not already present; `[]` is a no-op | replace all values; `[]` removes the attribute | remove all; with a `value`, only the values it lists |
//! | `attr.sub` | set in the complex value (created if absent); for a multi-valued `attr`, in every value | same as add | remove the sub-attribute |
//! | `attr[filter]` | merge the value object into the one matching value | replace every matching value; `[]` removes them | remove the matching values |
//! | `attr[filter].sub` | set `sub` of the one matching value; none: create it (below) | set `sub` of every matching value; none: create it (lenient) or `noTarget` (strict) | remove `sub` from the matching values |
//!
//! Path-less values may use paths as keys, as Entra does: `{"name.givenName": "Kkom",
//! "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"}`; a key
//! that is an extension URN holds that extension's attributes. Writing into an extension
//! adds its URN to `schemas`.
//!
//! Choices where the RFC is silent or peers disagree (each is tested against the conformance
//! corpus, see `tests/it/patch.rs`):
//!
//! - **Value filter that matches nothing, with a sub-attribute** (`add` of
//!   `emails[type eq "work"].value` to a user without a work email): the value is created from
//!   the filter's `eq` comparisons (`{"type": "work", "value": …}`), as the Microsoft SCIM
//!   Validator expects and UnboundID and SCIMple do. Only filters made of `eq` comparisons
//!   joined by `and` describe a value; any other filter answers `noTarget`. For `replace`,
//!   RFC 7644 §3.5.2.3 answers `noTarget`, but Entra sends `replace` where it means "set":
//!   lenient mode (the default) creates the value as `add` does, strict mode answers
//!   `noTarget`. Without a sub-attribute (`replace` of `addresses[type eq "work"]`) both modes
//!   answer `noTarget`.
//! - **`add` through a filter over an existing sub-attribute** overwrites it (RFC 7644
//!   §3.5.2.1: "the existing value is replaced"); UnboundID refuses. `add` through a filter
//!   that matches several values is refused (`invalidPath`): it cannot say which to change.
//! - **`remove` through a filter that matches nothing** is a no-op in lenient mode (removing a
//!   member twice succeeds, as Entra expects) and `noTarget` in strict mode (RFC 7644 Table 9).
//! - **`remove` with a `value`** (Entra: `{"op": "Remove", "path": "members", "value":
//!   [{"value": "id"}]}`) removes only the listed values, never all of them. A listed value
//!   names a stored one as `add` does (below); `"$ref": null` and other null members are
//!   ignored, and a value with only null members names nothing. On a single-valued attribute
//!   the value is a condition: the attribute is removed only if it matches.
//! - **Values already present**: `add` to a multi-valued attribute appends only values that
//!   are not there. A value with a `value` sub-attribute (emails, members, ...) is there when a
//!   stored one has the same `value` — compared as the schema says, so member ids and email
//!   addresses ignore case — and, when both give one, the same `type`; the other
//!   sub-attributes it gives that a client may write (`primary`, say) then update the stored
//!   value. Other values are there when every non-null sub-attribute they give is equal.
//!   Long lists (a group's members) are indexed by `value` for the request, so adding or
//!   removing k members of a group of n costs about n + k comparisons.
//! - **Removing an absent attribute** succeeds and changes nothing. **Removing the last value**
//!   of a multi-valued attribute, or the last sub-attribute of a complex one, or the last
//!   attribute of an extension, removes the attribute (or the extension's block: its URN stays
//!   in `schemas`): RFC 7643 §2.5 treats empty as unassigned.
//! - **One value given for a multi-valued attribute** (`"value": {"value": "x"}`) is taken as a
//!   list of one, in both modes.
//! - **`null` as the value of `add` or `replace`** clears the target, as in RFC 7643 §2.5.
//! - **Unqualified extension attributes**: a name the base schema does not define is looked
//!   up in the resource's extensions (Entra removes `manager[value eq "…"]` without the
//!   enterprise URN). A value filter on a single-valued complex attribute (`manager`) tests its
//!   one value; on a simple single-valued attribute it is an `invalidPath`.
//! - **Mutability**: `readOnly` attributes (`id`, `meta`, `groups`, `members.display` of an
//!   existing member, ...) cannot be changed, `immutable` ones cannot be changed once set:
//!   [`Error::Mutability`](crate::Error::Mutability). Writing the value already there is
//!   allowed (Okta sends `id` back in a path-less replace). Values appended to a multi-valued
//!   attribute are new records and are not checked sub-attribute by sub-attribute, so a
//!   member added with its `display` is accepted.
//! - **Types**: where the registry defines the attribute, values are checked against its type
//!   (`invalidValue`); unknown attributes and extensions the registry does not know are
//!   accepted as they are (lenient) or refused with `invalidPath` (strict, for attributes of
//!   a schema the registry knows).
//! - **Booleans as strings**: for boolean attributes, `"True"`, `"false"` and other casings
//!   become JSON booleans (Entra's default); strict mode refuses them (`invalidValue`).
//!   Likewise a string given for a complex attribute with a `value` sub-attribute becomes
//!   `{"value": …}` (Entra sends `manager` as the manager's id) in lenient mode only.
//! - **`primary`**: when a value written to a multi-valued attribute has `"primary": true`,
//!   the others that had it get `false` (RFC 7643 §2.4); two written primaries are refused.
//! - **An empty `Operations` list** changes nothing (lenient) or is refused (strict).

mod apply;
mod op;
#[cfg(test)]
mod perf;
pub mod rules;

pub use op::{PATCH_OP_SCHEMA, PatchOp, PatchOpKind, PatchOperation};

use crate::{Resource, Result, SchemaRegistry};

/// How tolerant [`PatchOp::apply_with`] is.
///
/// The default is lenient: it accepts what Microsoft Entra and other real clients send
/// (see the [module documentation](self) for each tolerance). `strict` follows RFC 7644 to the
/// letter where the two differ.
///
/// ```
/// use scim_model::patch::PatchOptions;
///
/// assert!(!PatchOptions::default().strict);
/// assert!(PatchOptions::strict().strict);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchOptions {
    /// Refuse the tolerated forms: booleans as strings, unknown attributes of known schemas,
    /// `replace` through a filter that matches nothing, `remove` through a filter that matches
    /// nothing, an empty `Operations` list.
    pub strict: bool,
}

impl PatchOptions {
    /// The lenient default.
    pub fn lenient() -> Self {
        PatchOptions { strict: false }
    }

    /// RFC 7644 to the letter.
    pub fn strict() -> Self {
        PatchOptions { strict: true }
    }

    /// Sets `strict`.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

impl PatchOp {
    /// Applies the operations to `resource` in order, all or nothing, with the lenient
    /// [`PatchOptions::default`]. Returns whether the resource changed.
    ///
    /// # Errors
    ///
    /// The first operation that cannot apply, as an [`Error`](crate::Error) whose
    /// [`scim_type`](crate::Error::scim_type) is the RFC 7644 `scimType` to answer with
    /// (`invalidPath`, `noTarget`, `invalidValue`, `mutability`); its message names the
    /// operation (`Operations[2]`). The resource is then unchanged.
    pub fn apply(&self, resource: &mut Resource, registry: &SchemaRegistry) -> Result<bool> {
        self.apply_with(resource, registry, &PatchOptions::default())
    }

    /// Applies the operations with the given options (see [`PatchOp::apply`]).
    ///
    /// # Errors
    ///
    /// As [`PatchOp::apply`].
    pub fn apply_with(
        &self,
        resource: &mut Resource,
        registry: &SchemaRegistry,
        options: &PatchOptions,
    ) -> Result<bool> {
        apply::apply(self, resource, registry, options)
    }
}
