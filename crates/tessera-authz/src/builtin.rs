//! The resource types that guard Tessera's own resources, and their actions.

macro_rules! tessera_actions {
    ($($resource_type:literal { $($action:ident),+ $(,)? })+) => {
        /// An action on one of Tessera's own resources. Management routes each
        /// state the one they need; the catalog of every realm includes them all.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TesseraAction {
            $($($action,)+)+
        }

        impl TesseraAction {
            pub const ALL: &'static [Self] = &[$($(Self::$action,)+)+];

            /// The resource types these actions belong to.
            pub const RESOURCE_TYPES: &'static [&'static str] = &[$($resource_type,)+];

            pub fn resource_type(self) -> &'static str {
                match self {
                    $($(Self::$action)|+ => $resource_type,)+
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $($(Self::$action => stringify!($action),)+)+
                }
            }
        }
    };
}

tessera_actions! {
    "token" { ListTokens, CreateToken, ReadTokenConfig, UpdateToken, DeleteToken }
    "endpoint" {
        ListEndpoints, CreateEndpoint, ReadEndpointConfig, UpdateEndpoint, DeleteEndpoint,
        CallEndpoint, ManageEndpointTokens, ReadEndpointCalls, RevealEndpointTokens,
    }
    "user" { ListUsers, CreateUser, ReadUserConfig, UpdateUser, DeleteUser, ListRoles }
    "company" {
        ListCompanies, CreateCompany, ReadCompanyConfig, UpdateCompany, DeleteCompany,
        ManageCompanyMembers, ReadCompanyEvents,
    }
    "subscription" {
        ListSubscriptions, CreateSubscription, ReadSubscriptionConfig, UpdateSubscription,
        DeleteSubscription, AssignSubscriptionUsers, CreateSubscriptionTokens,
        ListSubscriptionTokens, UpdateSubscriptionTokens, DeleteSubscriptionTokens,
    }
}

impl std::fmt::Display for TesseraAction {
    /// `type:Action`, as routes state what they need.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.resource_type(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_name_their_type() {
        assert_eq!(TesseraAction::CreateToken.to_string(), "token:CreateToken");
        assert_eq!(TesseraAction::CallEndpoint.resource_type(), "endpoint");
        assert_eq!(TesseraAction::ALL.len(), 37);
        assert!(TesseraAction::ALL
            .iter()
            .all(|action| TesseraAction::RESOURCE_TYPES.contains(&action.resource_type())));
    }
}
