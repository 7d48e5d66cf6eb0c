//! A principal's grants: evaluation and the no-escalation check.

use tessera_proto::AuthorizationDetail;

use crate::grant::ResourceGrant;
use crate::{Actions, Escalation, Grant, GrantError};

/// The most grants one principal may carry. Evaluation looks at each grant, so
/// the bound keeps a check cheap and a request body small.
pub const MAX_GRANTS: usize = 256;

/// What a principal may do. Deny by default: nothing is permitted that no
/// grant names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    grants: Vec<Grant>,
}

impl Permissions {
    /// Nothing at all.
    pub const fn none() -> Self {
        Self { grants: Vec::new() }
    }

    /// Everything in the realm.
    pub fn admin() -> Self {
        Self {
            grants: vec![Grant::Admin],
        }
    }

    /// Parses `authorization_details`, checking each entry's shape (see
    /// [`Grant::from_detail`]); repeated grants are kept once.
    pub fn from_details(details: &[AuthorizationDetail]) -> Result<Self, GrantError> {
        if details.len() > MAX_GRANTS {
            return Err(GrantError::TooMany { max: MAX_GRANTS });
        }
        let mut permissions = Self::none();
        for detail in details {
            permissions.add(Grant::from_detail(detail)?);
        }
        Ok(permissions)
    }

    pub fn to_details(&self) -> Vec<AuthorizationDetail> {
        self.grants.iter().map(Grant::to_detail).collect()
    }

    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// Adds a grant unless it is already held.
    pub fn add(&mut self, grant: Grant) {
        if !self.grants.contains(&grant) {
            self.grants.push(grant);
        }
    }

    /// Everything either set permits (a user's roles, merged).
    pub fn union(mut self, other: &Self) -> Self {
        for grant in &other.grants {
            self.add(grant.clone());
        }
        self
    }

    pub fn is_admin(&self) -> bool {
        self.grants.contains(&Grant::Admin)
    }

    /// Whether `action` on the resource `resource` of `resource_type` is allowed.
    pub fn permits(&self, resource_type: &str, resource: &str, action: &str) -> bool {
        self.grants.iter().any(|grant| match grant {
            Grant::Admin => true,
            Grant::Resource(grant) => grant.permits(resource_type, resource, action),
        })
    }

    /// Whether `action` is allowed on at least one resource of `resource_type`:
    /// enough to ask for a list, which then shows only what [`Self::permits`].
    pub fn permits_some(&self, resource_type: &str, action: &str) -> bool {
        self.grants.iter().any(|grant| match grant {
            Grant::Admin => true,
            Grant::Resource(grant) => {
                grant.resource_type() == resource_type && grant.actions().contains(action)
            }
        })
    }

    /// Whether `action` is allowed on every resource of `resource_type`, those
    /// created later included (a `*` grant, or `admin`): what creating or
    /// listing resources of the type needs.
    pub fn permits_every(&self, resource_type: &str, action: &str) -> bool {
        self.grants.iter().any(|grant| match grant {
            Grant::Admin => true,
            Grant::Resource(grant) => {
                grant.resource_type() == resource_type
                    && *grant.resources() == crate::Resources::All
                    && grant.actions().contains(action)
            }
        })
    }

    /// No escalation: a principal may hand out only what it holds itself. Every
    /// requested grant must be covered, action by action, by the caller's grants;
    /// a wildcard (`*` resources or actions) is covered only by a wildcard, since
    /// it also stands for resources and actions that do not exist yet.
    pub fn check_grantable(&self, requested: &Self) -> Result<(), Escalation> {
        if self.is_admin() {
            return Ok(());
        }
        match requested.grants.iter().find(|grant| !self.covers(grant)) {
            Some(uncovered) => Err(Escalation {
                grant: uncovered.to_string(),
            }),
            None => Ok(()),
        }
    }

    fn covers(&self, requested: &Grant) -> bool {
        let Grant::Resource(requested) = requested else {
            return self.is_admin();
        };
        let held = self.grants.iter().filter_map(|grant| match grant {
            Grant::Admin => None,
            Grant::Resource(grant) => Some(grant),
        });
        let (resource_type, resources) = (requested.resource_type(), requested.resources());
        match requested.actions() {
            Actions::All => held
                .clone()
                .any(|grant| grant.permits_all_actions_on(resource_type, resources)),
            Actions::Listed(actions) => actions.iter().all(|action| {
                held.clone()
                    .any(|grant: &ResourceGrant| grant.permits_on(resource_type, resources, action))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(resource_type: &str, resource: Option<&str>, actions: &[&str]) -> Grant {
        Grant::new(resource_type, resource, actions).unwrap()
    }

    fn holding(grants: &[Grant]) -> Permissions {
        let mut permissions = Permissions::none();
        for grant in grants {
            permissions.add(grant.clone());
        }
        permissions
    }

    #[test]
    fn nothing_is_permitted_by_default() {
        assert!(!Permissions::none().permits("bucket", "b1", "ReadBucket"));
        assert!(!Permissions::none().permits_some("bucket", "ReadBucket"));
    }

    #[test]
    fn admin_permits_everything() {
        let admin = Permissions::admin();
        assert!(admin.permits("bucket", "b1", "ReadBucket"));
        assert!(admin.permits("anything", "at-all", "Whatever"));
        assert!(admin.permits_some("token", "ListTokens"));
    }

    #[test]
    fn a_grant_permits_its_resource_and_actions_only() {
        let permissions = holding(&[grant("bucket", Some("b1"), &["ReadBucket"])]);
        assert!(permissions.permits("bucket", "b1", "ReadBucket"));
        assert!(!permissions.permits("bucket", "b2", "ReadBucket"));
        assert!(!permissions.permits("bucket", "b1", "WriteBucket"));
        assert!(!permissions.permits("device", "b1", "ReadBucket"));
        assert!(permissions.permits_some("bucket", "ReadBucket"));
        assert!(!permissions.permits_some("bucket", "DeleteBucket"));
    }

    #[test]
    fn only_a_wildcard_grant_permits_every_resource() {
        let one = holding(&[grant("bucket", Some("b1"), &["ListBuckets"])]);
        assert!(!one.permits_every("bucket", "ListBuckets"));
        let every = holding(&[grant("bucket", None, &["ListBuckets"])]);
        assert!(every.permits_every("bucket", "ListBuckets"));
        assert!(!every.permits_every("bucket", "DeleteBucket"));
        assert!(!every.permits_every("device", "ListBuckets"));
        assert!(Permissions::admin().permits_every("user", "CreateUser"));
    }

    #[test]
    fn wildcards_permit_every_resource_and_action() {
        let permissions = holding(&[grant("device", None, &[])]);
        assert!(permissions.permits("device", "d1", "AccessDeviceResources"));
        assert!(permissions.permits("device", "d2", "DeleteDevice"));
        assert!(!permissions.permits("bucket", "d1", "ReadBucket"));
    }

    #[test]
    fn repeated_grants_are_kept_once() {
        let details = vec![grant("bucket", Some("b1"), &["ReadBucket"]).to_detail(); 3];
        assert_eq!(
            Permissions::from_details(&details).unwrap().grants().len(),
            1
        );
    }

    #[test]
    fn too_many_grants_are_refused() {
        let details = vec![grant("bucket", None, &[]).to_detail(); MAX_GRANTS + 1];
        assert_eq!(
            Permissions::from_details(&details),
            Err(GrantError::TooMany { max: MAX_GRANTS })
        );
    }

    #[test]
    fn admin_may_grant_anything() {
        let requested = holding(&[Grant::Admin, grant("bucket", None, &[])]);
        assert_eq!(Permissions::admin().check_grantable(&requested), Ok(()));
    }

    #[test]
    fn only_admin_may_grant_admin() {
        let everything_else = holding(&[grant("bucket", None, &[]), grant("token", None, &[])]);
        let requested = Permissions::admin();
        assert_eq!(
            everything_else.check_grantable(&requested),
            Err(Escalation {
                grant: "admin".into()
            })
        );
    }

    #[test]
    fn a_held_grant_and_anything_narrower_may_be_granted() {
        let held = holding(&[grant("bucket", None, &["ReadBucket", "WriteBucket"])]);
        for requested in [
            grant("bucket", None, &["ReadBucket", "WriteBucket"]),
            grant("bucket", None, &["ReadBucket"]),
            grant("bucket", Some("b1"), &["WriteBucket"]),
        ] {
            assert_eq!(
                held.check_grantable(&holding(std::slice::from_ref(&requested))),
                Ok(()),
                "{requested}"
            );
        }
        assert_eq!(held.check_grantable(&Permissions::none()), Ok(()));
    }

    #[test]
    fn one_resource_does_not_cover_all() {
        let held = holding(&[grant("bucket", Some("b1"), &["ReadBucket"])]);
        assert_eq!(
            held.check_grantable(&holding(&[grant("bucket", None, &["ReadBucket"])])),
            Err(Escalation {
                grant: "bucket:*:ReadBucket".into()
            })
        );
        assert_eq!(
            held.check_grantable(&holding(&[grant("bucket", Some("b2"), &["ReadBucket"])])),
            Err(Escalation {
                grant: "bucket:b2:ReadBucket".into()
            })
        );
    }

    #[test]
    fn listed_actions_do_not_cover_the_action_wildcard() {
        let every_bucket_action = [
            "ReadBucket",
            "WriteBucket",
            "ExportBucket",
            "ClearBucket",
            "ListBuckets",
            "DeleteBucket",
            "CreateBucket",
            "UpdateBucket",
            "ReadBucketConfig",
        ];
        let held = holding(&[grant("bucket", None, &every_bucket_action)]);
        assert_eq!(
            held.check_grantable(&holding(&[grant("bucket", None, &[])])),
            Err(Escalation {
                grant: "bucket:*:*".into()
            })
        );
    }

    #[test]
    fn an_extra_action_is_an_escalation() {
        let held = holding(&[grant("bucket", Some("b1"), &["ReadBucket"])]);
        assert_eq!(
            held.check_grantable(&holding(&[grant(
                "bucket",
                Some("b1"),
                &["ReadBucket", "ClearBucket"]
            )])),
            Err(Escalation {
                grant: "bucket:b1:ClearBucket,ReadBucket".into()
            })
        );
    }

    #[test]
    fn another_type_is_an_escalation() {
        let held = holding(&[grant("bucket", None, &[])]);
        assert_eq!(
            held.check_grantable(&holding(&[grant("device", Some("d1"), &["ListDevices"])])),
            Err(Escalation {
                grant: "device:d1:ListDevices".into()
            })
        );
    }

    #[test]
    fn actions_may_be_covered_by_several_grants() {
        let held = holding(&[
            grant("bucket", Some("b1"), &["ReadBucket"]),
            grant("bucket", None, &["WriteBucket"]),
        ]);
        assert_eq!(
            held.check_grantable(&holding(&[grant(
                "bucket",
                Some("b1"),
                &["ReadBucket", "WriteBucket"]
            )])),
            Ok(())
        );
    }

    #[test]
    fn the_first_uncovered_grant_is_named() {
        let held = holding(&[grant("bucket", None, &[])]);
        let requested = holding(&[
            grant("bucket", Some("b1"), &["ReadBucket"]),
            grant("dashboard", None, &["ListDashboards"]),
            grant("device", None, &[]),
        ]);
        assert_eq!(
            held.check_grantable(&requested),
            Err(Escalation {
                grant: "dashboard:*:ListDashboards".into()
            })
        );
    }
}
