//! Ids that must not be swapped for one another: a user's, a session's (a
//! refresh-token family), a personal token's. Each is its own type, so that
//! `token_events(&user.id, &token.id)` cannot be written the other way round.
//! They are UUIDs, stored as text.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        // Stored as the text it is, on either backend.
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <String as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(Self)
            }
        }
    };
}

id_type!(
    /// A user of a realm.
    UserId
);
id_type!(
    /// A session: a refresh-token family, the `sid` of its access tokens.
    SessionId
);
id_type!(
    /// A personal token (expose or client token).
    PersonalTokenId
);
id_type!(
    /// A company that buys API subscriptions.
    CompanyId
);
id_type!(
    /// A company's subscription to one API.
    SubscriptionId
);
id_type!(
    /// A token a company admin generated for a subscription.
    CompanyTokenId
);
id_type!(
    /// An endpoint of the integration platform.
    EndpointId
);
id_type!(
    /// An endpoint's primary token for one method.
    PrimaryTokenId
);
id_type!(
    /// A secondary endpoint token: one consuming application's.
    EndpointTokenId
);
id_type!(
    /// A signed-in browser's session (single sign-on).
    BrowserSessionId
);
