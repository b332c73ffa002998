// Whether this translation unit is compiled with AddressSanitizer (gcc or clang): the few places
// where a sanitizer runtime changes what can work (dlopen flags, crashing on purpose) ask here.
#pragma once

namespace crammer {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace crammer
