// Hooks the Event code calls so that debug mode can detect misuse.
#pragma once

namespace ev::detail {

void debug_note_assign(const void* ev, bool pending);
void debug_note_destroy(const void* ev);
void debug_check_live(const void* ev, const char* op);

}  // namespace ev::detail
