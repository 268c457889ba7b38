// Result<T, E>: the error-or-value type used everywhere lamina can fail.
//
// C++20 has no std::expected and EL2 code has no exceptions, so fallible
// functions return Result and callers propagate with TRY. Result is
// [[nodiscard]]: ignoring an error is a compile error under -Werror.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

namespace lamina {

// Wraps an error value so that Result's constructors are unambiguous even
// when T and E are the same type.
template <typename E>
struct Err {
  E error;
};
template <typename E>
Err(E) -> Err<E>;

template <typename T, typename E>
class [[nodiscard]] Result {
  // When T and E are trivially copyable, so is Result (its copy constructor
  // and destructor are the defaulted, trivial ones): the AAPCS64 then
  // passes and returns a Result of up to 16 bytes in registers, and an
  // inlined one stays in registers instead of a stack slot that every
  // exit path would otherwise store and reload.
  static constexpr bool kTrivial = std::is_trivially_copy_constructible_v<T> &&
                                   std::is_trivially_copy_constructible_v<E> &&
                                   std::is_trivially_destructible_v<T> && std::is_trivially_destructible_v<E>;

 public:
  // The member is initialized in place, not by placement new: the
  // compiler then keeps a local Result in registers.
  constexpr Result(T value) : storage_(kValue, std::move(value)), ok_(true) {}
  constexpr Result(Err<E> err) : storage_(kError, std::move(err.error)), ok_(false) {}

  constexpr Result(const Result&)
    requires kTrivial
  = default;
  constexpr Result(const Result& other)
    requires(!kTrivial)
      : ok_(other.ok_) {
    if (ok_) new (&storage_.value) T(other.storage_.value);
    else new (&storage_.error) E(other.storage_.error);
  }
  Result& operator=(const Result&) = delete;
  constexpr ~Result()
    requires kTrivial
  = default;
  constexpr ~Result()
    requires(!kTrivial)
  {
    if (ok_) storage_.value.~T();
    else storage_.error.~E();
  }

  [[nodiscard]] constexpr bool ok() const { return ok_; }
  [[nodiscard]] constexpr explicit operator bool() const { return ok_; }

  // Precondition: ok(). Checked by the caller (TRY or an explicit test).
  [[nodiscard]] constexpr T& value() & { return storage_.value; }
  [[nodiscard]] constexpr const T& value() const& { return storage_.value; }
  [[nodiscard]] constexpr T&& value() && { return std::move(storage_.value); }

  // Precondition: !ok().
  [[nodiscard]] constexpr const E& error() const { return storage_.error; }

  [[nodiscard]] constexpr T value_or(T fallback) const { return ok_ ? storage_.value : fallback; }

 private:
  static constexpr std::in_place_index_t<0> kValue{};
  static constexpr std::in_place_index_t<1> kError{};
  union Storage {
    constexpr Storage() {}
    constexpr Storage(std::in_place_index_t<0>, T&& v) : value(std::move(v)) {}
    constexpr Storage(std::in_place_index_t<1>, E&& e) : error(std::move(e)) {}
    constexpr ~Storage()
      requires kTrivial
    = default;
    constexpr ~Storage()
      requires(!kTrivial)
    {}
    T value;
    E error;
  } storage_;
  bool ok_;
};

// Result of an operation that produces no value.
struct Ok {};

template <typename E>
using Status = Result<Ok, E>;

}  // namespace lamina

// Evaluates a Result expression; on error returns the error from the
// enclosing function, otherwise yields the value. (GNU statement expression,
// supported by both GCC and Clang.)
#define TRY(expr)                                                   \
  ({                                                                \
    auto lamina_try_result_ = (expr);                               \
    if (!lamina_try_result_.ok())                                   \
      return ::lamina::Err{lamina_try_result_.error()};             \
    std::move(lamina_try_result_).value();                          \
  })
