//! Who may do what in a room: the one rule every path applies (REST, the
//! WebSocket, the stream, polling, read markers; later search and files).
//! The store looks up the facts ([`RoomFacts`]); this decides.

/// What a room is, as far as access goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every account may see it and join.
    Open,
    /// Members only; members add others.
    Closed,
    /// A direct conversation of a fixed set of people.
    Direct,
}

/// The facts about one room and one user that the rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomFacts {
    /// The room's kind.
    pub kind: Kind,
    /// The lobby: everyone is in it, nobody leaves, it is never archived.
    pub lobby: bool,
    /// Archived rooms are read-only.
    pub archived: bool,
    /// The user is a member now.
    pub member: bool,
    /// The user created the room.
    pub creator: bool,
    /// The user is an admin.
    pub admin: bool,
}

/// What the user wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the room, its history and members.
    See,
    /// Send a message or move the read marker.
    Post,
    /// Move the read marker (allowed in archived rooms too).
    Read,
    /// Join an open room.
    Join,
    /// Leave (or remove oneself).
    Leave,
    /// Add members.
    AddMembers,
    /// Remove another member.
    RemoveOthers,
    /// Rename or change the topic.
    Edit,
    /// Archive or unarchive.
    Archive,
    /// React to a message.
    React,
    /// Edit a message (`own`: the user wrote it).
    EditMessage {
        /// The user wrote it.
        own: bool,
    },
    /// Delete a message (`own`: the user wrote it).
    DeleteMessage {
        /// The user wrote it.
        own: bool,
    },
    /// Fetch the room's files, or find its messages by search: members only,
    /// and others do not learn the room exists.
    SeeFiles,
}

/// Why an action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The user may not know the room exists (404).
    Hidden,
    /// The room is archived: read-only.
    Archived,
    /// Known room, action not allowed for this user or room (403), with the reason.
    Forbidden(&'static str),
}

/// Decides whether the user described by `facts` may do `action`.
pub fn decide(facts: &RoomFacts, action: Action) -> Result<(), Denied> {
    // A closed room or a direct message does not exist for non-members.
    let visible = facts.member || facts.kind == Kind::Open;
    if !visible {
        return Err(Denied::Hidden);
    }
    let writes = matches!(
        action,
        Action::Post
            | Action::Join
            | Action::AddMembers
            | Action::Edit
            | Action::Leave
            | Action::React
            | Action::EditMessage { .. }
            | Action::DeleteMessage { .. }
    );
    if facts.archived && writes {
        return Err(Denied::Archived);
    }
    let member = |why| {
        if facts.member {
            Ok(())
        } else {
            Err(Denied::Forbidden(why))
        }
    };
    match action {
        Action::See | Action::Join => Ok(()),
        Action::SeeFiles if facts.member => Ok(()),
        Action::SeeFiles => Err(Denied::Hidden),
        Action::Post | Action::Read | Action::React => member("join the room first"),
        Action::EditMessage { own: true } | Action::DeleteMessage { own: true } => {
            member("join the room first")
        }
        Action::EditMessage { own: false } => {
            Err(Denied::Forbidden("only its author edits a message"))
        }
        Action::DeleteMessage { own: false } if facts.admin => member("join the room first"),
        Action::DeleteMessage { own: false } => Err(Denied::Forbidden(
            "only its author or an admin deletes a message",
        )),
        Action::Leave if facts.lobby => Err(Denied::Forbidden("nobody leaves the lobby")),
        Action::Leave if facts.kind == Kind::Direct => {
            Err(Denied::Forbidden("a direct message cannot be left"))
        }
        Action::Leave => member("not a member"),
        Action::AddMembers if facts.kind == Kind::Direct || facts.lobby => {
            Err(Denied::Forbidden("members of this room are fixed"))
        }
        Action::AddMembers => member("join the room first"),
        Action::RemoveOthers if facts.lobby || facts.kind == Kind::Direct => {
            Err(Denied::Forbidden("members of this room are fixed"))
        }
        Action::RemoveOthers if facts.creator || facts.admin => Ok(()),
        Action::RemoveOthers => Err(Denied::Forbidden(
            "only the room's creator or an admin removes members",
        )),
        Action::Edit if facts.kind == Kind::Direct => {
            Err(Denied::Forbidden("a direct message has no name or topic"))
        }
        Action::Edit => member("join the room first"),
        Action::Archive if facts.lobby => Err(Denied::Forbidden("the lobby cannot be archived")),
        Action::Archive if facts.admin => Ok(()),
        Action::Archive => Err(Denied::Forbidden("only admins archive rooms")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: Kind, member: bool) -> RoomFacts {
        RoomFacts {
            kind,
            lobby: false,
            archived: false,
            member,
            creator: false,
            admin: false,
        }
    }

    #[test]
    fn non_members_do_not_see_closed_rooms_or_direct_messages() {
        for kind in [Kind::Closed, Kind::Direct] {
            for action in [
                Action::See,
                Action::Post,
                Action::Read,
                Action::Join,
                Action::Edit,
            ] {
                assert_eq!(decide(&facts(kind, false), action), Err(Denied::Hidden));
            }
        }
        assert_eq!(decide(&facts(Kind::Open, false), Action::See), Ok(()));
        assert_eq!(decide(&facts(Kind::Open, false), Action::Join), Ok(()));
        assert!(matches!(
            decide(&facts(Kind::Open, false), Action::Post),
            Err(Denied::Forbidden(_))
        ));
    }

    #[test]
    fn files_are_for_members_only_and_hidden_from_others() {
        for kind in [Kind::Open, Kind::Closed, Kind::Direct] {
            assert_eq!(decide(&facts(kind, true), Action::SeeFiles), Ok(()));
            assert_eq!(
                decide(&facts(kind, false), Action::SeeFiles),
                Err(Denied::Hidden)
            );
        }
        let mut archived = facts(Kind::Closed, true);
        archived.archived = true;
        assert_eq!(decide(&archived, Action::SeeFiles), Ok(()));
    }

    #[test]
    fn archived_rooms_are_read_only() {
        let mut f = facts(Kind::Closed, true);
        f.archived = true;
        assert_eq!(decide(&f, Action::See), Ok(()));
        assert_eq!(decide(&f, Action::Read), Ok(()));
        assert_eq!(decide(&f, Action::Post), Err(Denied::Archived));
        f.admin = true;
        assert_eq!(decide(&f, Action::Archive), Ok(()), "admins unarchive");
    }

    #[test]
    fn the_lobby_and_direct_messages_keep_their_members() {
        let mut lobby = facts(Kind::Open, true);
        lobby.lobby = true;
        lobby.admin = true;
        for action in [
            Action::Leave,
            Action::AddMembers,
            Action::RemoveOthers,
            Action::Archive,
        ] {
            assert!(
                matches!(decide(&lobby, action), Err(Denied::Forbidden(_))),
                "{action:?}"
            );
        }
        assert_eq!(decide(&lobby, Action::Edit), Ok(()), "its topic may change");
        let dm = facts(Kind::Direct, true);
        for action in [Action::Leave, Action::AddMembers, Action::Edit] {
            assert!(
                matches!(decide(&dm, action), Err(Denied::Forbidden(_))),
                "{action:?}"
            );
        }
        let mut room = facts(Kind::Closed, true);
        assert!(matches!(
            decide(&room, Action::RemoveOthers),
            Err(Denied::Forbidden(_))
        ));
        room.creator = true;
        assert_eq!(decide(&room, Action::RemoveOthers), Ok(()));
    }

    #[test]
    fn messages_are_edited_by_their_author_and_deleted_by_it_or_an_admin() {
        let member = facts(Kind::Closed, true);
        let own = |own| Action::EditMessage { own };
        assert_eq!(decide(&member, own(true)), Ok(()));
        assert!(matches!(
            decide(&member, own(false)),
            Err(Denied::Forbidden(_))
        ));
        let delete = |own| Action::DeleteMessage { own };
        assert!(matches!(
            decide(&member, delete(false)),
            Err(Denied::Forbidden(_))
        ));
        let mut admin = member;
        admin.admin = true;
        assert_eq!(decide(&admin, delete(false)), Ok(()));
        assert!(
            matches!(decide(&admin, own(false)), Err(Denied::Forbidden(_))),
            "admins do not edit others"
        );
        let outsider = facts(Kind::Closed, false);
        for action in [own(true), delete(false), Action::React] {
            assert_eq!(decide(&outsider, action), Err(Denied::Hidden));
        }
        let mut archived = member;
        archived.archived = true;
        for action in [own(true), delete(true), Action::React] {
            assert_eq!(decide(&archived, action), Err(Denied::Archived));
        }
        let left = facts(Kind::Open, false);
        assert!(matches!(
            decide(&left, Action::React),
            Err(Denied::Forbidden(_))
        ));
    }
}
