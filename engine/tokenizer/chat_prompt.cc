#include "engine/tokenizer/chat_prompt.h"

namespace vamba {
namespace {

constexpr std::string_view kSystemOpen = "<|im_start|>system\n";
constexpr std::string_view kImStart = "<|im_start|>";
constexpr std::string_view kUserOpen =
    "<|im_end|>\n<|im_start|>user\n<|vision_start|><|vision_end|>";
constexpr std::string_view kAssistantOpen = "<|im_end|>\n<|im_start|>assistant\n";

}  // namespace

std::string build_chat_prompt(std::string_view question, std::string_view system) {
  std::string s;
  s.reserve(kSystemOpen.size() + system.size() + kUserOpen.size() + question.size() +
            kAssistantOpen.size());
  s.append(kSystemOpen).append(system).append(kUserOpen).append(question).append(kAssistantOpen);
  return s;
}

std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, std::string_view question,
                                        std::string_view system) {
  // Each piece of user text is encoded together with the template text around it up to the nearest
  // special tokens, exactly the spans the whole prompt's encoding splits into, so the ids are the
  // same as encoding the whole prompt.
  EncodeOptions plain;
  plain.split_special_tokens = true;
  std::vector<int32_t> ids;
  tokenizer.encode(kImStart, &ids);
  std::string system_turn(kSystemOpen.substr(kImStart.size()));
  system_turn.append(system);
  tokenizer.encode(system_turn, &ids, plain);
  tokenizer.encode(kUserOpen, &ids);
  tokenizer.encode(question, &ids, plain);
  tokenizer.encode(kAssistantOpen, &ids);
  return ids;
}

StatusOr<Qwen2SpecialTokens> qwen2_special_tokens(const Tokenizer& tokenizer) {
  Qwen2SpecialTokens s;
  struct Want {
    const char* content;
    int32_t* id;
  };
  for (const Want& w :
       {Want{"<|endoftext|>", &s.endoftext}, Want{"<|im_start|>", &s.im_start},
        Want{"<|im_end|>", &s.im_end}, Want{"<|vision_start|>", &s.vision_start},
        Want{"<|vision_end|>", &s.vision_end}, Want{"<|video_pad|>", &s.video_pad}}) {
    VAMBA_ASSIGN_OR_RETURN(*w.id, tokenizer.require_token_id(w.content));
  }
  return s;
}

}  // namespace vamba
