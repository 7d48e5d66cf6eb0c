//! The `tessera` administration commands, run against the database of a live server.

use std::time::Duration;

use clap::Parser;
use tessera_server::cli::{run_admin, Cli, Console};

use crate::kit::{assert_error, str_field, Env, RealmOptions, Server, REALM};

/// Runs `tessera ARGS…` with the test's storage flags; `stdin` feeds the password.
pub(crate) async fn tessera(env: &Env, args: &[&str], stdin: &str) -> Result<String, String> {
    let config = env.config();
    let realms = config.storage.realms.display().to_string();
    let key = config.storage.master_key_file.display().to_string();
    let mut argv = vec!["tessera"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&[
        "--database",
        &env.database_url,
        "--realms",
        &realms,
        "--master-key-file",
        &key,
    ]);
    let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
    let mut output = Vec::new();
    let mut console = Console {
        input: &mut input,
        output: &mut output,
        interactive: false,
    };
    run_admin(cli.command, &mut console)
        .await
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8(output).unwrap())
}

async fn login_as(server: &Server, username: &str, password: &str) -> crate::kit::Reply {
    server.password_login("app", username, password).await
}

#[tokio::test]
async fn user_commands_manage_accounts_of_a_running_server() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let added = tessera(
        &env,
        &[
            "user",
            "add",
            "--realm",
            REALM,
            "--username",
            "carol",
            "--role",
            "user",
        ],
        "carol-password-1\n",
    )
    .await
    .unwrap();
    assert!(added.contains("created user carol"), "{added}");
    let login = login_as(&server, "carol", "carol-password-1").await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert!(tessera(
        &env,
        &["user", "add", "--realm", REALM, "--username", "carol"],
        "other\n"
    )
    .await
    .unwrap_err()
    .contains("already exists"));
    assert!(tessera(
        &env,
        &["user", "add", "--realm", REALM, "--username", "dave"],
        "\n"
    )
    .await
    .unwrap_err()
    .contains("empty password"));
    // There is no way to pass a password on the command line.
    assert!(tessera(
        &env,
        &[
            "user",
            "add",
            "--realm",
            REALM,
            "--username",
            "eve",
            "--password",
            "x"
        ],
        ""
    )
    .await
    .is_err());

    let listed = tessera(&env, &["user", "list", "--realm", REALM], "")
        .await
        .unwrap();
    assert!(
        listed.contains("carol") && listed.contains("alice"),
        "{listed}"
    );

    tessera(
        &env,
        &["user", "disable", "--realm", REALM, "--username", "carol"],
        "",
    )
    .await
    .unwrap();
    assert_error(
        &server
            .refresh(str_field(&login.body, "refresh_token"))
            .await,
        400,
        "invalid_grant",
    );
    let disabled = login_as(&server, "carol", "carol-password-1").await;
    assert_eq!(disabled.body["error_description"], "Account disabled");
    tessera(
        &env,
        &["user", "enable", "--realm", REALM, "--username", "carol"],
        "",
    )
    .await
    .unwrap();
    assert_eq!(
        login_as(&server, "carol", "carol-password-1").await.status,
        200
    );
    assert!(tessera(
        &env,
        &["user", "disable", "--realm", REALM, "--username", "nobody"],
        ""
    )
    .await
    .unwrap_err()
    .contains("no user"));
    assert!(
        tessera(&env, &["user", "list", "--realm", "no-such-realm"], "")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn keys_rotate_reaches_a_running_server() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let old_token = str_field(&server.login("alice", "").await, "access_token").to_owned();
    let before = tessera(&env, &["keys", "list", "--realm", REALM], "")
        .await
        .unwrap();
    assert_eq!(before.lines().count(), 1, "{before}");
    assert!(before.contains("active"));
    let rotated = tessera(&env, &["keys", "rotate", "--realm", REALM], "")
        .await
        .unwrap();
    assert!(rotated.contains("new active key"), "{rotated}");
    let after = tessera(&env, &["keys", "list", "--realm", REALM], "")
        .await
        .unwrap();
    assert_eq!(after.lines().count(), 2, "{after}");
    assert!(after.contains("retired"));
    let mut published = 0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        published = server.jwks().await["keys"].as_array().unwrap().len();
        if published == 2 {
            break;
        }
    }
    assert_eq!(published, 2, "the server did not pick up the rotated key");
    assert_eq!(server.introspect(&old_token).await["active"], true);
}

#[tokio::test]
async fn keys_rotate_on_schedule() {
    let env = Env::new(RealmOptions::tokens(r#"key_rotation = "2s""#)).await;
    let server = env.start().await;
    let first_kid = server.jwks().await["keys"][0]["kid"].clone();
    let mut rotated = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let jwks = server.jwks().await;
        if jwks["keys"][0]["kid"] != first_kid {
            assert!(jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == first_kid));
            rotated = true;
            break;
        }
    }
    assert!(rotated, "no scheduled rotation within 8 s");
}

#[cfg(unix)]
#[tokio::test]
async fn master_key_is_created_private_and_refused_when_readable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    server.stop().await;
    let path = env.config().storage.master_key_file;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = tessera_server::start(&env.config(), std::future::pending()).await;
    assert!(refused.err().unwrap().to_string().contains("chmod 600"));
}

#[tokio::test]
async fn token_commands_create_list_and_revoke_a_users_tokens() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let base = ["--realm", REALM, "--user", "alice"];
    let created = tessera(
        &env,
        &[
            &["token", "create"][..],
            &base,
            &["--name", "nightly export", "--lifetime", "7d"],
        ]
        .concat(),
        "",
    )
    .await
    .unwrap();
    let secret = created
        .lines()
        .find_map(|line| line.strip_prefix("token: "))
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("tsr_ex_"), "{created}");
    assert_eq!(server.introspect(&secret).await["active"], true);

    let client = tessera(
        &env,
        &[
            &["token", "create"][..],
            &base,
            &[
                "--type",
                "client",
                "--name",
                "pydc",
                "--client-id",
                "app",
                "--offline",
            ],
        ]
        .concat(),
        "",
    )
    .await
    .unwrap();
    let refresh = client
        .lines()
        .find_map(|line| line.strip_prefix("refresh_token: "))
        .unwrap();
    let refreshed = server.refresh(refresh).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);

    let listed = tessera(&env, &[&["token", "list"][..], &base].concat(), "")
        .await
        .unwrap();
    assert!(
        listed.contains("nightly export") && listed.contains("pydc"),
        "{listed}"
    );
    assert!(!listed.contains(&secret[7..]), "{listed}");
    let id = created
        .lines()
        .find_map(|line| line.strip_prefix("created expose token "))
        .unwrap();
    let revoked = tessera(
        &env,
        &[&["token", "revoke"][..], &base, &["--id", id]].concat(),
        "",
    )
    .await
    .unwrap();
    assert!(revoked.contains("deleted 1 token"), "{revoked}");
    assert_eq!(server.introspect(&secret).await["active"], false);
    let all = tessera(
        &env,
        &[&["token", "revoke"][..], &base, &["--all"]].concat(),
        "",
    )
    .await
    .unwrap();
    assert!(all.contains("deleted 1 token"), "{all}");
    assert_error(
        &server
            .refresh(str_field(&refreshed.body, "refresh_token"))
            .await,
        400,
        "invalid_grant",
    );

    let events = env
        .query_strings("SELECT actor FROM token_events WHERE actor IS NOT NULL ORDER BY id")
        .await;
    assert_eq!(events, ["operator"; 4]);
    let unknown = tessera(
        &env,
        &["token", "list", "--realm", REALM, "--user", "nobody"],
        "",
    )
    .await
    .unwrap_err();
    assert!(unknown.contains("nobody"), "{unknown}");
    let neither = tessera(&env, &[&["token", "revoke"][..], &base].concat(), "").await;
    assert!(neither.is_err());

    let deleted = tessera(
        &env,
        &["user", "delete", "--realm", REALM, "--username", "bob"],
        "",
    )
    .await
    .unwrap();
    assert!(deleted.contains("deleted bob"), "{deleted}");
    assert_error(
        &login_as(&server, "bob", crate::kit::PASSWORD).await,
        401,
        "invalid_grant",
    );
    let again = tessera(
        &env,
        &["user", "delete", "--realm", REALM, "--username", "bob"],
        "",
    )
    .await;
    assert!(again.unwrap_err().contains("no user"));
}

#[tokio::test]
async fn profile_commands_manage_token_profiles_over_the_same_service() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let base = ["--realm", REALM, "--user", "alice"];
    let with = |command: &[&'static str], extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec!["profile"];
        args.extend_from_slice(command);
        args.extend_from_slice(&base);
        args.extend_from_slice(extra);
        args
    };

    let created = tessera(
        &env,
        &with(
            &["create"],
            &[
                "--token-id",
                "sensor",
                "--name",
                "Sensor reader",
                "--grant",
                "device:d-17:AccessDeviceResources",
                "--grant",
                "bucket:*:*",
            ],
        ),
        "",
    )
    .await
    .unwrap();
    let token = created
        .lines()
        .find_map(|line| line.strip_prefix("token (shown once): "))
        .unwrap()
        .to_owned();
    let answer = server.introspect(&token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_id"], "sensor");
    assert_eq!(
        answer["authorization_details"],
        serde_json::json!([
            {"type": "device", "identifier": "d-17", "actions": ["AccessDeviceResources"]},
            {"type": "bucket", "identifier": "*", "actions": ["*"]},
        ])
    );

    let listed = tessera(&env, &with(&["list"], &[]), "").await.unwrap();
    assert!(
        listed.contains("sensor") && listed.contains("Sensor reader"),
        "{listed}"
    );
    assert!(!listed.contains(&token));
    let shown = tessera(&env, &with(&["show"], &["--token-id", "sensor"]), "")
        .await
        .unwrap();
    assert!(
        shown.contains("device:d-17:AccessDeviceResources"),
        "{shown}"
    );

    let unknown = tessera(
        &env,
        &with(
            &["update"],
            &["--token-id", "sensor", "--grant", "dashboard:*:*"],
        ),
        "",
    )
    .await
    .unwrap_err();
    assert!(unknown.contains("\"dashboard\""), "{unknown}");
    let malformed = tessera(
        &env,
        &with(
            &["create"],
            &["--token-id", "x", "--name", "x", "--grant", "bucket"],
        ),
        "",
    )
    .await
    .unwrap_err();
    assert!(malformed.contains("type:identifier:actions"), "{malformed}");
    let nothing = tessera(&env, &with(&["update"], &["--token-id", "sensor"]), "")
        .await
        .unwrap_err();
    assert!(nothing.contains("nothing to change"), "{nothing}");

    tessera(
        &env,
        &with(&["update"], &["--token-id", "sensor", "--disable"]),
        "",
    )
    .await
    .unwrap();
    assert_eq!(server.introspect(&token).await["active"], false);
    tessera(
        &env,
        &with(&["update"], &["--token-id", "sensor", "--enable"]),
        "",
    )
    .await
    .unwrap();
    assert_eq!(server.introspect(&token).await["active"], true);

    let deleted = tessera(&env, &with(&["delete"], &["--token-id", "sensor"]), "")
        .await
        .unwrap();
    assert!(deleted.contains("deleted 1"), "{deleted}");
    assert_eq!(server.introspect(&token).await["active"], false);
    let nobody = tessera(
        &env,
        &["profile", "list", "--realm", REALM, "--user", "nobody"],
        "",
    )
    .await
    .unwrap_err();
    assert!(nobody.contains("no user"), "{nobody}");
}

#[tokio::test]
async fn user_commands_edit_passwords_roles_and_names_over_the_management_service() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let user = ["--realm", REALM, "--username", "bob"];
    let run = |command: &'static str, extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec!["user", command];
        args.extend_from_slice(&user);
        args.extend_from_slice(extra);
        args
    };

    tessera(&env, &run("reset-password", &[]), "bob-new-password-1\n")
        .await
        .unwrap();
    assert_eq!(
        login_as(&server, "bob", "bob-new-password-1").await.status,
        200
    );
    assert_eq!(
        login_as(&server, "bob", crate::kit::PASSWORD).await.status,
        401
    );

    tessera(&env, &run("grant-role", &["--role", "viewer"]), "")
        .await
        .unwrap();
    let token = str_field(
        &login_as(&server, "bob", "bob-new-password-1").await.body,
        "access_token",
    )
    .to_owned();
    assert_eq!(
        crate::kit::unverified_claims(&token)["realm_access"]["roles"],
        serde_json::json!(["viewer"])
    );
    let unknown = tessera(&env, &run("grant-role", &["--role", "nope"]), "")
        .await
        .unwrap_err();
    assert!(unknown.contains("no such role"), "{unknown}");
    tessera(&env, &run("revoke-role", &["--role", "viewer"]), "")
        .await
        .unwrap();

    tessera(
        &env,
        &run(
            "update",
            &["--first-name", "Robert", "--email", "bob@example.org"],
        ),
        "",
    )
    .await
    .unwrap();
    let listed = tessera(
        &env,
        &["user", "list", "--realm", REALM, "--search", "example.org"],
        "",
    )
    .await
    .unwrap();
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{listed}");
    assert!(rows[0].contains("bob"), "{listed}");
    let nothing = tessera(&env, &run("update", &[]), "").await.unwrap_err();
    assert!(nothing.contains("nothing to change"), "{nothing}");
    let nobody = tessera(
        &env,
        &[
            "user",
            "reset-password",
            "--realm",
            REALM,
            "--username",
            "nobody",
        ],
        "x\n",
    )
    .await
    .unwrap_err();
    assert!(nobody.contains("no user"), "{nobody}");
}

#[tokio::test]
async fn company_commands_walk_the_company_story_over_the_same_services() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let run = |args: Vec<&str>| {
        let mut argv = vec!["company"];
        argv.extend(args);
        argv.extend(["--realm", REALM]);
        let argv: Vec<String> = argv.into_iter().map(str::to_owned).collect();
        let env = &env;
        async move {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            tessera(env, &argv, "").await
        }
    };
    let acme = ["--company", "Acme"];
    let plan = ["--company", "Acme", "--subscription", "Telemetry"];

    run(vec!["create", "--name", "Acme"]).await.unwrap();
    assert!(run(vec!["list"]).await.unwrap().contains("Acme"));
    run([
        &["add-member", "--user", "alice", "--role", "company-admin"][..],
        &acme[..],
    ]
    .concat())
    .await
    .unwrap();
    run([&["add-member", "--user", "bob"][..], &acme[..]].concat())
        .await
        .unwrap();
    let members = run([&["members"][..], &acme[..]].concat()).await.unwrap();
    assert!(
        members.contains("alice") && members.contains("company-admin"),
        "{members}"
    );
    run([
        &[
            "subscribe",
            "--name",
            "Telemetry",
            "--audience",
            "api",
            "--grant",
            "bucket:telemetry:ReadBucket",
        ][..],
        &acme[..],
    ]
    .concat())
    .await
    .unwrap();
    assert!(run([&["subscriptions"][..], &acme[..]].concat())
        .await
        .unwrap()
        .contains("Telemetry"));

    // A user token needs its user assigned; a userless one does not.
    let refused = run([
        &["generate-token", "--user", "bob", "--name", "Bob"][..],
        &plan[..],
    ]
    .concat())
    .await
    .unwrap_err();
    assert!(refused.contains("not assigned"), "{refused}");
    run([&["assign", "--user", "bob"][..], &plan[..]].concat())
        .await
        .unwrap();
    let generate = |args: Vec<&'static str>| {
        let run = &run;
        async move {
            let printed = run([
                &["generate-token", "--lifetime", "7d"][..],
                &args[..],
                &plan[..],
            ]
            .concat())
            .await
            .unwrap();
            printed
                .lines()
                .find_map(|line| line.strip_prefix("token (shown once): "))
                .unwrap()
                .to_owned()
        }
    };
    let bobs = generate(vec!["--user", "bob", "--name", "Bob's"]).await;
    let machine = generate(vec!["--name", "Machine"]).await;
    let answer = server.introspect(&bobs).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["preferred_username"], "bob");
    let answer = server.introspect(&machine).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert!(answer.get("sub").is_none());

    let listed = run([&["tokens", "--userless"][..], &acme[..]].concat())
        .await
        .unwrap();
    assert!(
        listed.contains("Machine") && !listed.contains("Bob's"),
        "{listed}"
    );
    assert!(!listed.contains(&machine));

    // Unassigning bob ends his token; the audit trail names the operator's acts.
    run([&["unassign", "--user", "bob"][..], &plan[..]].concat())
        .await
        .unwrap();
    assert_eq!(server.introspect(&bobs).await["active"], false);
    assert_eq!(server.introspect(&machine).await["active"], true);
    let events = run([&["events"][..], &acme[..]].concat()).await.unwrap();
    for event in [
        "user_unassigned",
        "token_deleted",
        "token_created",
        "member_added",
    ] {
        assert!(events.contains(event), "{event}: {events}");
    }

    run([&["delete"][..], &acme[..]].concat()).await.unwrap();
    assert_eq!(server.introspect(&machine).await["active"], false);
    let gone = run([&["members"][..], &acme[..]].concat())
        .await
        .unwrap_err();
    assert!(gone.contains("no company"), "{gone}");
}
