// Vamba's qwen2 chat template for one video question, and the special-token ids generation needs.
// The processor does not expand the video into <|video_pad|> tokens: the prompt carries only
// <|vision_start|><|vision_end|> and the video tokens travel as a separate sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/tokenizer/tokenizer.h"

namespace vamba {

inline constexpr std::string_view kDefaultSystemPrompt = "You are a helpful assistant.";

// "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n<|vision_start|><|vision_end|>
//  {question}<|im_end|>\n<|im_start|>assistant\n"
std::string build_chat_prompt(std::string_view question,
                              std::string_view system = kDefaultSystemPrompt);

// The ids of build_chat_prompt(question, system). The question and system text are encoded with
// special-token matching off, so user text containing "<|im_end|>" stays plain text instead of
// closing the turn (for text without such strings this equals encode(build_chat_prompt(...))).
std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, std::string_view question,
                                        std::string_view system = kDefaultSystemPrompt);

// The special tokens of the Qwen2 chat format, looked up by content.
struct Qwen2SpecialTokens {
  int32_t endoftext = -1;  // <|endoftext|>
  int32_t im_start = -1;   // <|im_start|>
  int32_t im_end = -1;     // <|im_end|>
  int32_t vision_start = -1;
  int32_t vision_end = -1;
  int32_t video_pad = -1;

  // Generation stops at either.
  std::vector<int32_t> stop_ids() const { return {im_end, endoftext}; }
};

// NOT_FOUND naming the token and the tokenizer file when one is missing.
StatusOr<Qwen2SpecialTokens> qwen2_special_tokens(const Tokenizer& tokenizer);

}  // namespace vamba
