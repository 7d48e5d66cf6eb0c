//! The resource types and actions a realm knows.

use crate::names::{is_action_name, is_type_name, shown};
use crate::{CatalogError, Grant, GrantError, Permissions, TesseraAction, ADMIN};

/// A resource type and its actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    name: String,
    actions: Vec<String>,
}

impl ResourceType {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn actions(&self) -> &[String] {
        &self.actions
    }
}

/// Tessera's own types ([`TesseraAction`]) and the realm's, in the order defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    types: Vec<ResourceType>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Catalog {
    /// Tessera's own types only.
    pub fn builtin() -> Self {
        let types = TesseraAction::RESOURCE_TYPES
            .iter()
            .map(|&name| ResourceType {
                name: name.to_owned(),
                actions: TesseraAction::ALL
                    .iter()
                    .filter(|action| action.resource_type() == name)
                    .map(|action| action.name().to_owned())
                    .collect(),
            })
            .collect();
        Self { types }
    }

    /// Tessera's own types and the realm's `(type, actions)`.
    pub fn with_realm_types(
        realm_types: impl IntoIterator<Item = (String, Vec<String>)>,
    ) -> Result<Self, CatalogError> {
        let mut catalog = Self::builtin();
        for (name, actions) in realm_types {
            if name == ADMIN || TesseraAction::RESOURCE_TYPES.contains(&name.as_str()) {
                return Err(CatalogError::Reserved(name));
            }
            if !is_type_name(&name) {
                return Err(CatalogError::MalformedType(shown(&name)));
            }
            if catalog.get(&name).is_some() {
                return Err(CatalogError::DuplicateType(name));
            }
            if actions.is_empty() {
                return Err(CatalogError::NoActions(name));
            }
            for (index, action) in actions.iter().enumerate() {
                if !is_action_name(action) {
                    return Err(CatalogError::MalformedAction {
                        resource_type: name,
                        action: shown(action),
                    });
                }
                if actions[..index].contains(action) {
                    return Err(CatalogError::DuplicateAction {
                        resource_type: name,
                        action: action.clone(),
                    });
                }
            }
            catalog.types.push(ResourceType { name, actions });
        }
        Ok(catalog)
    }

    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    pub fn get(&self, name: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|resource_type| resource_type.name == name)
    }

    /// Refuses a grant whose type or actions this realm does not know, naming them.
    pub fn check(&self, permissions: &Permissions) -> Result<(), GrantError> {
        for grant in permissions.grants() {
            let Grant::Resource(grant) = grant else {
                continue;
            };
            let Some(known) = self.get(grant.resource_type()) else {
                return Err(GrantError::UnknownType(grant.resource_type().to_owned()));
            };
            if let crate::Actions::Listed(actions) = grant.actions() {
                if let Some(unknown) = actions
                    .iter()
                    .find(|action| !known.actions.contains(action))
                {
                    return Err(GrantError::UnknownAction {
                        resource_type: known.name.clone(),
                        action: unknown.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform() -> Catalog {
        Catalog::with_realm_types([
            (
                "bucket".to_owned(),
                vec!["ReadBucket".to_owned(), "WriteBucket".to_owned()],
            ),
            ("device".to_owned(), vec!["ListDevices".to_owned()]),
        ])
        .unwrap()
    }

    fn permissions(grants: &[Grant]) -> Permissions {
        let mut permissions = Permissions::none();
        for grant in grants {
            permissions.add(grant.clone());
        }
        permissions
    }

    #[test]
    fn the_builtin_types_are_always_there() {
        let catalog = platform();
        let names: Vec<&str> = catalog.types().iter().map(ResourceType::name).collect();
        assert_eq!(
            names,
            [
                "token",
                "endpoint",
                "user",
                "company",
                "subscription",
                "bucket",
                "device"
            ]
        );
        assert_eq!(
            Catalog::builtin().get("token").unwrap().actions(),
            [
                "ListTokens",
                "CreateToken",
                "ReadTokenConfig",
                "UpdateToken",
                "DeleteToken"
            ]
        );
    }

    #[test]
    fn known_grants_pass() {
        let grants = [
            Grant::Admin,
            Grant::new("bucket", Some("b1"), &["ReadBucket"]).unwrap(),
            Grant::new("device", None, &[]).unwrap(),
            Grant::new("token", None, &["CreateToken"]).unwrap(),
        ];
        assert_eq!(platform().check(&permissions(&grants)), Ok(()));
    }

    #[test]
    fn unknown_types_and_actions_are_named() {
        let catalog = platform();
        assert_eq!(
            catalog.check(&permissions(&[Grant::new("dashboard", None, &[]).unwrap()])),
            Err(GrantError::UnknownType("dashboard".into()))
        );
        assert_eq!(
            catalog.check(&permissions(&[Grant::new(
                "bucket",
                None,
                &["ReadBucket", "EraseBucket"]
            )
            .unwrap()])),
            Err(GrantError::UnknownAction {
                resource_type: "bucket".into(),
                action: "EraseBucket".into()
            })
        );
    }

    #[test]
    fn realm_types_cannot_clash_or_be_empty() {
        let refused = |name: &str, actions: &[&str]| {
            Catalog::with_realm_types([(
                name.to_owned(),
                actions.iter().map(|&a| a.to_owned()).collect(),
            )])
            .unwrap_err()
        };
        assert_eq!(
            refused("token", &["X"]),
            CatalogError::Reserved("token".into())
        );
        assert_eq!(
            refused("admin", &["X"]),
            CatalogError::Reserved("admin".into())
        );
        assert_eq!(
            refused("Bucket", &["X"]),
            CatalogError::MalformedType("Bucket".into())
        );
        assert_eq!(
            refused("bucket", &[]),
            CatalogError::NoActions("bucket".into())
        );
        assert_eq!(
            refused("bucket", &["Read Bucket"]),
            CatalogError::MalformedAction {
                resource_type: "bucket".into(),
                action: "Read Bucket".into()
            }
        );
        assert_eq!(
            refused("bucket", &["ReadBucket", "ReadBucket"]),
            CatalogError::DuplicateAction {
                resource_type: "bucket".into(),
                action: "ReadBucket".into()
            }
        );
        assert_eq!(
            Catalog::with_realm_types([
                ("bucket".to_owned(), vec!["A".to_owned()]),
                ("bucket".to_owned(), vec!["B".to_owned()]),
            ])
            .unwrap_err(),
            CatalogError::DuplicateType("bucket".into())
        );
    }
}
