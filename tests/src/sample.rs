//! The sample tenant used by the demo, the benchmark and tests: N users built from fixed
//! name lists and the user's index, with no randomness, so every run gets the same directory.
//!
//! Per 100 users: 76 enabled members with a photo (4 of them with the `Content-Type`
//! `image/Jpeg`), 12 members without a photo, 5 guests with `#EXT#` user principal names,
//! 4 disabled accounts and 3 members whose `userType` is null. Users 9 and 109 have no
//! mailbox, so their photo requests return 400 `AuthenticationError`. Users 1 to 6 carry
//! apostrophes and accents in their names. The broken and oversized files in
//! `fixtures/photos` are not used here, because tests use them explicitly.

use std::fs;
use std::path::Path;

use anyhow::Context;

use crate::fixture::{Fixture, FixtureUser, PhotoError, UserType};

/// Directory of the sample photos, including the broken and oversized ones that the sample
/// tenant does not use.
pub const PHOTOS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/photos");

/// Tenant id of the sample tenant.
pub const SAMPLE_TENANT_ID: &str = "3f6e1c2a-8b4d-4e7f-9a1c-5d2b7e9f0a13";
/// Application (client) id of the sample tenant's app.
pub const SAMPLE_CLIENT_ID: &str = "b7d2e4f1-6a3c-4f8e-9d1b-2c5a7e0f3b64";
/// Client secret of the sample tenant's app, a test value that grants nothing anywhere else.
pub const SAMPLE_CLIENT_SECRET: &str = "graph-sim~sample-secret-value";
/// Users per page, so that the 300-user demo tenant spans three pages.
pub const SAMPLE_PAGE_SIZE: usize = 100;

/// Domain of the sample tenant's members.
const MEMBER_DOMAIN: &str = "contoso.com";
/// Initial domain of the sample tenant, which guest user principal names end with.
const INITIAL_DOMAIN: &str = "contoso.onmicrosoft.com";
/// Home domain of the sample guests.
const GUEST_DOMAIN: &str = "fabrikam.com";
/// First 8 hex digits of every sample user id.
const ID_SEED: u32 = 0x5eed_0001;
/// Buckets (index modulo 100) whose JPEG photo is sent as `image/Jpeg`, a casing Graph
/// returns for some photos.
const MIXED_CASE_JPEG_BUCKETS: [usize; 4] = [7, 27, 47, 67];
/// Bucket of the users without a mailbox, and how many such users the sample has at most.
const NO_MAILBOX_BUCKET: usize = 9;
const MAX_NO_MAILBOX_USERS: usize = 2;
/// Message Graph returns for a photo request on a user without an Exchange mailbox.
const NO_MAILBOX_MESSAGE: &str = "Error authenticating with resource";

const fn photo(name: &'static str, bytes: &'static [u8]) -> (&'static str, &'static [u8]) {
    (name, bytes)
}

/// The photos the sample tenant cycles through, embedded so the binary runs anywhere.
const SAMPLE_PHOTOS: [(&str, &[u8]); 7] = [
    photo(
        "astronaut-648.jpg",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/photos/astronaut-648.jpg"
        )),
    ),
    photo(
        "astronaut-96.jpg",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/photos/astronaut-96.jpg"
        )),
    ),
    photo(
        "chelsea-648.jpg",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/photos/chelsea-648.jpg"
        )),
    ),
    photo(
        "coffee-240.png",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/photos/coffee-240.png"
        )),
    ),
    photo(
        "camera-360-gray.jpg",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/photos/camera-360-gray.jpg"
        )),
    ),
    photo(
        "rocket-504-progressive.jpg",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/photos/rocket-504-progressive.jpg"
        )),
    ),
    photo(
        "tiny-animated.gif",
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/photos/tiny-animated.gif"
        )),
    ),
];

/// Photo licences and sources, copied next to the photos by [`write_sample`].
const PHOTO_SOURCES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/photos/SOURCES.md"
));

const FIRST_NAMES: [&str; 20] = [
    "Adele", "Amir", "Bianca", "Chen", "Dmitri", "Emily", "Fatima", "Grady", "Hana", "Isaac",
    "Johanna", "Kofi", "Leila", "Mateo", "Nadia", "Oscar", "Priya", "Rafael", "Tessa", "Yuki",
];
const LAST_NAMES: [&str; 20] = [
    "Vance",
    "Okafor",
    "Pisani",
    "Lindqvist",
    "Haddad",
    "Brennan",
    "Novak",
    "Archer",
    "Tanaka",
    "Moreau",
    "Kowalski",
    "Mensah",
    "Ruiz",
    "Iyer",
    "Schmidt",
    "Castillo",
    "Nakamura",
    "Ahmed",
    "Fischer",
    "Larsen",
];

/// Users 1 to 6: display name and the local part of their user principal name.
const SPECIAL_NAMES: [(&str, &str); 6] = [
    ("Sean O'Brien", "sean.o'brien"),
    ("Maria D'Angelo", "maria.d'angelo"),
    ("José Núñez", "jose.nunez"),
    ("Zoë Müller", "zoë.müller"),
    ("Søren Ødegård", "soren.odegard"),
    ("Łukasz Wójcik", "lukasz.wojcik"),
];

/// The kind of account a sample index gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    MemberWithPhoto,
    MemberWithoutPhoto,
    Guest,
    Disabled,
    UntypedMember,
    NoMailbox,
}

fn kind_of(index: usize) -> Kind {
    let bucket = index % 100;
    if bucket == NO_MAILBOX_BUCKET && index / 100 < MAX_NO_MAILBOX_USERS {
        return Kind::NoMailbox;
    }
    match bucket {
        0..=75 => Kind::MemberWithPhoto,
        76..=87 => Kind::MemberWithoutPhoto,
        88..=92 => Kind::Guest,
        93..=96 => Kind::Disabled,
        _ => Kind::UntypedMember,
    }
}

/// Returns the bytes of one of the embedded sample photos, such as `astronaut-96.jpg`.
///
/// # Panics
/// Panics when `name` is not one of the seven photos the sample tenant uses.
pub fn sample_photo(name: &str) -> &'static [u8] {
    SAMPLE_PHOTOS
        .iter()
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, bytes)| *bytes)
        .unwrap_or_else(|| {
            let names: Vec<&str> = SAMPLE_PHOTOS.iter().map(|(name, _)| *name).collect();
            panic!("{name:?} is not a sample photo; use one of {names:?}")
        })
}

/// Builds the sample tenant with `users` users, photo bytes included.
pub fn sample_fixture(users: usize) -> Fixture {
    Fixture {
        tenant_id: SAMPLE_TENANT_ID.to_string(),
        client_id: SAMPLE_CLIENT_ID.to_string(),
        client_secret: SAMPLE_CLIENT_SECRET.to_string(),
        page_size: SAMPLE_PAGE_SIZE,
        users: (0..users).map(sample_user).collect(),
    }
}

/// Writes the sample tenant to `dir`: `users.json`, the photos it uses under `photos/`, and
/// the photos' `SOURCES.md`.
pub fn write_sample(dir: impl AsRef<Path>, users: usize) -> anyhow::Result<()> {
    let dir = dir.as_ref();
    sample_fixture(users).save(dir)?;
    let sources = dir.join("photos").join("SOURCES.md");
    fs::create_dir_all(dir.join("photos"))
        .with_context(|| format!("failed to create {}", dir.join("photos").display()))?;
    fs::write(&sources, PHOTO_SOURCES)
        .with_context(|| format!("failed to write {}", sources.display()))
}

fn sample_user(index: usize) -> FixtureUser {
    let kind = kind_of(index);
    let (display_name, local_part) = sample_name(index);
    let id = format!("{ID_SEED:08x}-7a3c-4d2e-9b1f-{index:012x}");

    let mut user = FixtureUser::new(&id, &format!("{local_part}@{MEMBER_DOMAIN}"), &display_name);
    let has_photo = match kind {
        Kind::MemberWithPhoto | Kind::Disabled | Kind::UntypedMember => true,
        // Every other guest has a photo, so scope rules that skip guests have work to skip.
        Kind::Guest => index.is_multiple_of(2),
        Kind::MemberWithoutPhoto | Kind::NoMailbox => false,
    };
    match kind {
        Kind::Guest => {
            let guest_address = format!("{local_part}_{GUEST_DOMAIN}");
            user.user_principal_name = format!("{guest_address}#EXT#@{INITIAL_DOMAIN}");
            user.mail = Some(format!("{local_part}@{GUEST_DOMAIN}"));
            user.user_type = Some(UserType::Guest);
        }
        Kind::Disabled => user.account_enabled = false,
        Kind::UntypedMember => user.user_type = None,
        Kind::NoMailbox => {
            user.mail = None;
            user.photo_error = Some(PhotoError {
                status: 400,
                code: "AuthenticationError".to_string(),
                message: NO_MAILBOX_MESSAGE.to_string(),
            });
        }
        Kind::MemberWithPhoto | Kind::MemberWithoutPhoto => {}
    }

    if has_photo {
        let (name, bytes) = if MIXED_CASE_JPEG_BUCKETS.contains(&(index % 100)) {
            user.photo_content_type = Some("image/Jpeg".to_string());
            SAMPLE_PHOTOS[2]
        } else {
            SAMPLE_PHOTOS[index % SAMPLE_PHOTOS.len()]
        };
        user.photo = Some(format!("photos/{name}"));
        user.photo_bytes = Some(bytes.to_vec());
    }
    user
}

/// Returns the display name and the user principal name's local part for an index.
fn sample_name(index: usize) -> (String, String) {
    if let Some((display, local)) = index
        .checked_sub(1)
        .and_then(|offset| SPECIAL_NAMES.get(offset))
    {
        return (display.to_string(), local.to_string());
    }
    let first = FIRST_NAMES[index % FIRST_NAMES.len()];
    let last = LAST_NAMES[(index / FIRST_NAMES.len()) % LAST_NAMES.len()];
    // The name pair repeats every 400 users, so a number keeps later user principal names unique.
    let round = index / (FIRST_NAMES.len() * LAST_NAMES.len());
    let mut local = format!("{first}.{last}").to_lowercase();
    if round > 0 {
        local.push_str(&round.to_string());
    }
    (format!("{first} {last}"), local)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn count(fixture: &Fixture, predicate: impl Fn(&FixtureUser) -> bool) -> usize {
        fixture.users.iter().filter(|user| predicate(user)).count()
    }

    #[test]
    fn sample_is_deterministic() {
        assert_eq!(sample_fixture(120), sample_fixture(120));
    }

    #[test]
    fn sample_mix_of_300() {
        let fixture = sample_fixture(300);
        let members_with_photo = count(&fixture, |user| {
            user.user_type == Some(UserType::Member)
                && user.account_enabled
                && user.photo_bytes.is_some()
        });
        assert_eq!(members_with_photo, 226);
        let members_without_photo = count(&fixture, |user| {
            user.user_type == Some(UserType::Member)
                && user.photo_bytes.is_none()
                && user.photo_error.is_none()
        });
        assert_eq!(members_without_photo, 36);
        assert_eq!(
            count(&fixture, |u| u.user_type == Some(UserType::Guest)),
            15
        );
        assert_eq!(count(&fixture, |u| !u.account_enabled), 12);
        assert_eq!(count(&fixture, |u| u.user_type.is_none()), 9);
        assert_eq!(count(&fixture, |u| u.photo_error.is_some()), 2);
        assert_eq!(
            count(&fixture, |u| u.photo_content_type.as_deref()
                == Some("image/Jpeg")),
            12
        );
    }

    #[test]
    fn sample_ids_unique_and_guid_shaped() {
        let fixture = sample_fixture(900);
        let ids: HashSet<&str> = fixture.users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids.len(), 900);
        let upns: HashSet<&str> = fixture
            .users
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        assert_eq!(upns.len(), 900);
        for id in ids {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
        }
    }

    #[test]
    fn sample_has_special_names() {
        let fixture = sample_fixture(20);
        let upns: Vec<&str> = fixture
            .users
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        assert!(upns.contains(&"sean.o'brien@contoso.com"));
        assert!(upns.contains(&"zoë.müller@contoso.com"));
        let names: Vec<&str> = fixture
            .users
            .iter()
            .map(|u| u.display_name.as_str())
            .collect();
        for expected in [
            "Maria D'Angelo",
            "José Núñez",
            "Søren Ødegård",
            "Łukasz Wójcik",
        ] {
            assert!(names.contains(&expected), "{expected} missing");
        }
    }

    #[test]
    fn guests_have_ext_upn() {
        let fixture = sample_fixture(100);
        let guest = fixture
            .users
            .iter()
            .find(|u| u.user_type == Some(UserType::Guest))
            .unwrap();
        assert!(
            guest
                .user_principal_name
                .ends_with("_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
            "{}",
            guest.user_principal_name
        );
    }

    #[test]
    fn sample_avoids_broken_photos() {
        let fixture = sample_fixture(300);
        for user in &fixture.users {
            let photo = user.photo.as_deref().unwrap_or_default();
            assert!(!photo.contains("broken"), "{photo}");
            assert!(!photo.contains("3000"), "{photo}");
        }
    }

    #[test]
    fn written_sample_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        write_sample(dir.path(), 50).unwrap();
        let loaded = Fixture::load(dir.path()).unwrap();
        assert_eq!(loaded, sample_fixture(50));
        assert!(dir.path().join("photos/SOURCES.md").exists());
    }

    #[test]
    #[should_panic(expected = "is not a sample photo")]
    fn unknown_sample_photo_panics() {
        sample_photo("broken-empty.jpg");
    }
}
