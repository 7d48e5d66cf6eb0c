//! One grant, parsed from and rendered to an RFC 9396 authorization detail.

use std::fmt;

use tessera_proto::{AuthorizationDetail, WILDCARD};

use crate::names::{is_action_name, is_identifier, is_type_name, shown};
use crate::{GrantError, ADMIN};

/// The most actions one grant may list: more than any type has.
const MAX_ACTIONS: usize = 64;

/// Which resources of its type a grant covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resources {
    /// `"*"`: every resource of the type, those created later included.
    All,
    /// The resource with this id.
    One(String),
}

impl Resources {
    fn covers(&self, resource: &str) -> bool {
        match self {
            Self::All => true,
            Self::One(id) => id == resource,
        }
    }

    /// Whether every resource `other` names is one of these.
    fn includes(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::All, _) => true,
            (Self::One(mine), Self::One(theirs)) => mine == theirs,
            (Self::One(_), Self::All) => false,
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Self::All => WILDCARD,
            Self::One(id) => id,
        }
    }
}

/// Which actions a grant allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actions {
    /// `["*"]`: every action of the type, those added later included.
    All,
    /// These actions, sorted and without repeats; never empty.
    Listed(Vec<String>),
}

impl Actions {
    pub fn contains(&self, action: &str) -> bool {
        match self {
            Self::All => true,
            Self::Listed(actions) => actions.iter().any(|listed| listed == action),
        }
    }

    fn names(&self) -> Vec<String> {
        match self {
            Self::All => vec![WILDCARD.to_owned()],
            Self::Listed(actions) => actions.clone(),
        }
    }
}

/// Actions on resources of one type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceGrant {
    resource_type: String,
    resources: Resources,
    actions: Actions,
}

impl ResourceGrant {
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    pub fn actions(&self) -> &Actions {
        &self.actions
    }

    pub(crate) fn permits(&self, resource_type: &str, resource: &str, action: &str) -> bool {
        self.resource_type == resource_type
            && self.resources.covers(resource)
            && self.actions.contains(action)
    }

    /// Whether this grant allows `action` on every resource `resources` names.
    pub(crate) fn permits_on(
        &self,
        resource_type: &str,
        resources: &Resources,
        action: &str,
    ) -> bool {
        self.resource_type == resource_type
            && self.resources.includes(resources)
            && self.actions.contains(action)
    }

    /// Whether this grant allows every action (`*`) on every resource `resources` names.
    pub(crate) fn permits_all_actions_on(
        &self,
        resource_type: &str,
        resources: &Resources,
    ) -> bool {
        self.resource_type == resource_type
            && self.resources.includes(resources)
            && self.actions == Actions::All
    }
}

/// What a principal may do: everything (`admin`) or actions on resources of one type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grant {
    /// Everything in the realm.
    Admin,
    Resource(ResourceGrant),
}

impl Grant {
    /// A grant of `actions` (none means all) on `resource` (`None` means all) of one type.
    pub fn new(
        resource_type: &str,
        resource: Option<&str>,
        actions: &[&str],
    ) -> Result<Self, GrantError> {
        Self::from_detail(&AuthorizationDetail {
            resource_type: resource_type.to_owned(),
            identifier: Some(resource.unwrap_or(WILDCARD).to_owned()),
            actions: if actions.is_empty() {
                vec![WILDCARD.to_owned()]
            } else {
                actions.iter().map(|&action| action.to_owned()).collect()
            },
        })
    }

    /// Checks a detail's shape (names, lengths, wildcards), not whether its type
    /// and actions exist: that is the [`crate::Catalog`]'s business, and a
    /// resource server reading an introspection answer has no catalog.
    pub fn from_detail(detail: &AuthorizationDetail) -> Result<Self, GrantError> {
        let only_wildcard = |actions: &[String]| actions.len() == 1 && actions[0] == WILDCARD;
        if detail.resource_type == ADMIN {
            let unscoped = detail.identifier.as_deref().is_none_or(|id| id == WILDCARD)
                && (detail.actions.is_empty() || only_wildcard(&detail.actions));
            return if unscoped {
                Ok(Self::Admin)
            } else {
                Err(GrantError::ScopedAdmin)
            };
        }
        if !is_type_name(&detail.resource_type) {
            return Err(GrantError::MalformedType(shown(&detail.resource_type)));
        }
        let resources = match detail.identifier.as_deref() {
            None => {
                return Err(GrantError::MissingIdentifier {
                    resource_type: detail.resource_type.clone(),
                })
            }
            Some(WILDCARD) => Resources::All,
            Some(id) if is_identifier(id) => Resources::One(id.to_owned()),
            Some(id) => return Err(GrantError::MalformedIdentifier(shown(id))),
        };
        let actions = if detail.actions.is_empty() {
            return Err(GrantError::MissingActions {
                resource_type: detail.resource_type.clone(),
            });
        } else if only_wildcard(&detail.actions) {
            Actions::All
        } else {
            if detail.actions.len() > MAX_ACTIONS {
                return Err(GrantError::TooMany { max: MAX_ACTIONS });
            }
            let mut listed = Vec::with_capacity(detail.actions.len());
            for action in &detail.actions {
                if action == WILDCARD {
                    return Err(GrantError::WildcardAmongActions);
                }
                if !is_action_name(action) {
                    return Err(GrantError::MalformedAction(shown(action)));
                }
                listed.push(action.clone());
            }
            listed.sort_unstable();
            listed.dedup();
            Actions::Listed(listed)
        };
        Ok(Self::Resource(ResourceGrant {
            resource_type: detail.resource_type.clone(),
            resources,
            actions,
        }))
    }

    pub fn to_detail(&self) -> AuthorizationDetail {
        match self {
            Self::Admin => AuthorizationDetail {
                resource_type: ADMIN.to_owned(),
                identifier: None,
                actions: Vec::new(),
            },
            Self::Resource(grant) => AuthorizationDetail {
                resource_type: grant.resource_type.clone(),
                identifier: Some(grant.resources.as_str().to_owned()),
                actions: grant.actions.names(),
            },
        }
    }
}

impl fmt::Display for Grant {
    /// `type:identifier:action,action`, or `admin`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admin => f.write_str(ADMIN),
            Self::Resource(grant) => write!(
                f,
                "{}:{}:{}",
                grant.resource_type,
                grant.resources.as_str(),
                grant.actions.names().join(",")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(
        resource_type: &str,
        identifier: Option<&str>,
        actions: &[&str],
    ) -> AuthorizationDetail {
        AuthorizationDetail {
            resource_type: resource_type.to_owned(),
            identifier: identifier.map(str::to_owned),
            actions: actions.iter().map(|&a| a.to_owned()).collect(),
        }
    }

    #[test]
    fn a_detail_round_trips_with_sorted_unique_actions() {
        let grant = Grant::from_detail(&detail(
            "bucket",
            Some("b1"),
            &["WriteBucket", "ReadBucket", "WriteBucket"],
        ))
        .unwrap();
        assert_eq!(grant.to_string(), "bucket:b1:ReadBucket,WriteBucket");
        assert_eq!(
            grant.to_detail(),
            detail("bucket", Some("b1"), &["ReadBucket", "WriteBucket"])
        );
        assert_eq!(Grant::from_detail(&grant.to_detail()).unwrap(), grant);
    }

    #[test]
    fn wildcards_parse_to_all() {
        let Grant::Resource(grant) =
            Grant::from_detail(&detail("device", Some("*"), &["*"])).unwrap()
        else {
            panic!("not a resource grant");
        };
        assert_eq!(grant.resources(), &Resources::All);
        assert_eq!(grant.actions(), &Actions::All);
    }

    #[test]
    fn admin_takes_no_scope() {
        assert_eq!(
            Grant::from_detail(&detail("admin", None, &[])).unwrap(),
            Grant::Admin
        );
        assert_eq!(
            Grant::from_detail(&detail("admin", Some("*"), &["*"])).unwrap(),
            Grant::Admin
        );
        assert_eq!(Grant::Admin.to_detail(), detail("admin", None, &[]));
        assert_eq!(
            Grant::from_detail(&detail("admin", Some("d1"), &[])),
            Err(GrantError::ScopedAdmin)
        );
        assert_eq!(
            Grant::from_detail(&detail("admin", None, &["ReadBucket"])),
            Err(GrantError::ScopedAdmin)
        );
    }

    #[test]
    fn malformed_details_are_refused_by_name() {
        let cases = [
            (
                detail("Bucket", Some("*"), &["*"]),
                GrantError::MalformedType("Bucket".into()),
            ),
            (
                detail("", Some("*"), &["*"]),
                GrantError::MalformedType(String::new()),
            ),
            (
                detail("bucket", None, &["*"]),
                GrantError::MissingIdentifier {
                    resource_type: "bucket".into(),
                },
            ),
            (
                detail("bucket", Some(""), &["*"]),
                GrantError::MalformedIdentifier(String::new()),
            ),
            (
                detail("bucket", Some("a b"), &["*"]),
                GrantError::MalformedIdentifier("a b".into()),
            ),
            (
                detail("bucket", Some("*"), &[]),
                GrantError::MissingActions {
                    resource_type: "bucket".into(),
                },
            ),
            (
                detail("bucket", Some("*"), &["Read-Bucket"]),
                GrantError::MalformedAction("Read-Bucket".into()),
            ),
            (
                detail("bucket", Some("*"), &["*", "ReadBucket"]),
                GrantError::WildcardAmongActions,
            ),
        ];
        for (detail, expected) in cases {
            assert_eq!(Grant::from_detail(&detail), Err(expected), "{detail:?}");
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(10_000);
        let Err(GrantError::MalformedIdentifier(shown)) =
            Grant::from_detail(&detail("bucket", Some(&long), &["*"]))
        else {
            panic!("a 10,000-character identifier was accepted");
        };
        assert!(shown.chars().count() <= 65, "{}", shown.len());
        let many: Vec<String> = (0..65).map(|i| format!("A{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            Grant::from_detail(&detail("bucket", Some("*"), &many)),
            Err(GrantError::TooMany { max: MAX_ACTIONS })
        );
    }
}
