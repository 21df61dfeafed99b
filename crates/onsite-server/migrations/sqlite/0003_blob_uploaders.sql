-- The device whose upload stored each blob. A content address is no secret, so a row may
-- name bytes only if its device uploaded them or they already belong to its job (the
-- engine's rule, `store/engine/blob_owners.rs`). NULL for blobs stored before this was
-- recorded, and for a catalogue entry healed by a HEAD that found the bytes already there.
ALTER TABLE blobs ADD COLUMN uploaded_by TEXT;
