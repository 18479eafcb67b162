// vamba client: talk to `vamba serve` from a shell or a script.
//   vamba client ask    --server H:P (--video PATH|URL | --file F | --video-id ID) -q QUESTION ...
//   vamba client encode --server H:P (--video ... | --file F | --video-id ID)   -> prints the id
//   vamba client upload --server H:P --file F                                   -> prints the id
//   vamba client delete --server H:P --video-id ID
//   vamba client caption --server H:P (--video ... | --file F | --video-id ID) --segment S
//                        [--scenes [--scene-threshold X --scene-fps F --min-segment S ...]]
//   vamba client health --server H:P [--service NAME]       (exit 0 only when SERVING)
// ask streams the answer to stdout as it arrives; --json prints one JSON object per message.
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/command.h"
#include "service/health_client.h"
#include "vamba/v1/vamba.grpc.pb.h"

namespace {

namespace v1 = vamba::v1;

struct ClientArgs {
  std::string server = "127.0.0.1:50051";
  std::string auth_token;
  double timeout_s = 0;  // 0: none
  // the video
  std::string video, file, video_id;
  bool upload = false;  // --file: upload first instead of sending inline
  // sampling
  int64_t frames = 0, max_frames = 0;
  double fps = 0, start = 0, end = 0;
  int shortest = 0, longest = 0;
  // generation
  std::string question;
  int max_tokens = 0;
  float temperature = 0, top_p = 0;
  int top_k = 0;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  double segment_s = 10;
  bool scenes = false;  // caption scene by scene instead of fixed segments
  double scene_threshold = 0, scene_fps = 0, min_segment = 0, max_segment = 0;
  std::string service;
  int chunk_kb = 1024;
  bool json = false;
};

int fail_rpc(const std::string& what, const grpc::Status& s) {
  std::cerr << "vamba client " << what << ": "
            << vamba::status_code_name(static_cast<vamba::StatusCode>(s.error_code())) << ": "
            << s.error_message() << "\n";
  return 1;
}

std::shared_ptr<grpc::Channel> make_channel(const ClientArgs& a) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(a.server, grpc::InsecureChannelCredentials(), args);
}

void prepare(const ClientArgs& a, grpc::ClientContext* ctx) {
  if (!a.auth_token.empty()) ctx->AddMetadata("authorization", "Bearer " + a.auth_token);
  if (a.timeout_s > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000)));
  }
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

// Uploads a local file in chunks; returns the id ("" and a message on failure).
std::string upload(const ClientArgs& a, v1::VideoQa::Stub& stub, const std::string& path) {
  std::string data;
  if (!read_file(path, &data)) {
    std::cerr << "vamba client: cannot read " << path << "\n";
    return "";
  }
  grpc::ClientContext ctx;
  prepare(a, &ctx);
  v1::VideoRef ref;
  auto writer = stub.UploadVideo(&ctx, &ref);
  const size_t chunk = static_cast<size_t>(std::max(1, a.chunk_kb)) << 10;
  for (size_t at = 0; at < data.size(); at += chunk) {
    v1::UploadChunk c;
    c.set_data(data.substr(at, chunk));
    if (at == 0) c.set_filename(path);
    if (!writer->Write(c)) break;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!s.ok()) {
    fail_rpc("upload", s);
    return "";
  }
  return ref.video_id();
}

// Fills the request's video from --video / --file / --video-id; false (message printed) if none.
bool fill_source(const ClientArgs& a, v1::VideoQa::Stub& stub, v1::VideoSource* src) {
  const int given = !a.video.empty() + !a.file.empty() + !a.video_id.empty();
  if (given != 1) {
    std::cerr << "vamba client: give exactly one of --video, --file, --video-id\n";
    return false;
  }
  if (!a.video.empty()) {
    src->set_uri(a.video);
  } else if (!a.video_id.empty()) {
    src->set_video_id(a.video_id);
  } else if (a.upload) {
    std::string id = upload(a, stub, a.file);
    if (id.empty()) return false;
    src->set_video_id(id);
  } else {
    std::string data;
    if (!read_file(a.file, &data)) {
      std::cerr << "vamba client: cannot read " << a.file << "\n";
      return false;
    }
    src->set_data(std::move(data));
  }
  return true;
}

void fill_sampling(const ClientArgs& a, v1::Sampling* s) {
  s->set_frames(a.frames);
  s->set_fps(a.fps);
  s->set_max_frames(a.max_frames);
  s->set_start_s(a.start);
  s->set_end_s(a.end);
  s->set_shortest_edge(a.shortest);
  s->set_longest_edge(a.longest);
}

void fill_generation(const ClientArgs& a, v1::GenerationOptions* g) {
  g->set_max_tokens(a.max_tokens);
  g->set_temperature(a.temperature);
  g->set_top_p(a.top_p);
  g->set_top_k(a.top_k);
  g->set_seed(a.seed);
  for (const auto& s : a.stop) g->add_stop(s);
}

nlohmann::json timings_json(const v1::Timings& t) {
  return {{"queue_s", t.queue_s()},
          {"decode_s", t.decode_s()},
          {"preprocess_s", t.preprocess_s()},
          {"vision_s", t.vision_s()},
          {"video_prefill_s", t.video_prefill_s()},
          {"time_to_first_token_s", t.time_to_first_token_s()},
          {"generate_s", t.generate_s()},
          {"tokens_per_s", t.tokens_per_s()}};
}

int run_ask(const ClientArgs& a) {
  auto stub = v1::VideoQa::NewStub(make_channel(a));
  v1::AskRequest req;
  if (!fill_source(a, *stub, req.mutable_video())) return 2;
  fill_sampling(a, req.mutable_sampling());
  fill_generation(a, req.mutable_generation());
  req.set_question(a.question);
  grpc::ClientContext ctx;
  prepare(a, &ctx);
  auto reader = stub->Ask(&ctx, req);
  v1::AskResponse r;
  while (reader->Read(&r)) {
    if (r.has_done()) {
      const auto& d = r.done();
      if (a.json) {
        nlohmann::json j = {{"answer", d.text()},
                            {"finish_reason", d.finish_reason()},
                            {"prompt_tokens", d.prompt_tokens()},
                            {"completion_tokens", d.completion_tokens()},
                            {"tokens", std::vector<int64_t>(d.tokens().begin(), d.tokens().end())},
                            {"frames", d.frames_used()},
                            {"video_tokens", d.video_tokens()},
                            {"video_cached", d.video_cached()},
                            {"timings", timings_json(d.timings())}};
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
      } else {
        std::cout << std::endl;
        std::cerr << "answer: " << d.completion_tokens() << " tokens (" << d.finish_reason()
                  << "), " << d.frames_used() << " frames, first token "
                  << d.timings().time_to_first_token_s() << " s, " << d.timings().tokens_per_s()
                  << " tokens/s" << (d.video_cached() ? ", encoded video reused" : "") << "\n";
      }
    } else if (!a.json) {
      std::cout << r.delta() << std::flush;
    }
  }
  grpc::Status s = reader->Finish();
  return s.ok() ? 0 : fail_rpc("ask", s);
}

int run_encode(const ClientArgs& a) {
  auto stub = v1::VideoQa::NewStub(make_channel(a));
  v1::EncodeRequest req;
  if (!fill_source(a, *stub, req.mutable_video())) return 2;
  fill_sampling(a, req.mutable_sampling());
  grpc::ClientContext ctx;
  prepare(a, &ctx);
  v1::VideoRef ref;
  grpc::Status s = stub->EncodeVideo(&ctx, req, &ref);
  if (!s.ok()) return fail_rpc("encode", s);
  if (a.json) {
    nlohmann::json j = {{"video_id", ref.video_id()},     {"bytes", ref.bytes()},
                        {"frames", ref.frames_used()},    {"video_tokens", ref.video_tokens()},
                        {"duration_s", ref.duration_s()}, {"timings", timings_json(ref.timings())}};
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << ref.video_id() << std::endl;
  }
  return 0;
}

int run_upload(const ClientArgs& a) {
  if (a.file.empty()) return vamba::cli::fail("client upload", "--file is required", 2);
  auto stub = v1::VideoQa::NewStub(make_channel(a));
  std::string id = upload(a, *stub, a.file);
  if (id.empty()) return 1;
  std::cout << id << std::endl;
  return 0;
}

int run_delete(const ClientArgs& a) {
  if (a.video_id.empty()) return vamba::cli::fail("client delete", "--video-id is required", 2);
  auto stub = v1::VideoQa::NewStub(make_channel(a));
  v1::DeleteVideoRequest req;
  req.set_video_id(a.video_id);
  v1::DeleteVideoResponse resp;
  grpc::ClientContext ctx;
  prepare(a, &ctx);
  grpc::Status s = stub->DeleteVideo(&ctx, req, &resp);
  return s.ok() ? 0 : fail_rpc("delete", s);
}

int run_caption(const ClientArgs& a) {
  auto stub = v1::VideoQa::NewStub(make_channel(a));
  v1::CaptionRequest req;
  if (!fill_source(a, *stub, req.mutable_video())) return 2;
  fill_sampling(a, req.mutable_sampling());
  fill_generation(a, req.mutable_generation());
  req.set_segment_s(a.segment_s);
  req.set_prompt(a.question);
  if (a.scenes) {
    req.set_segmentation(v1::SEGMENTATION_SCENE);
    req.mutable_scene()->set_threshold(a.scene_threshold);
    req.mutable_scene()->set_sample_fps(a.scene_fps);
    req.mutable_scene()->set_min_segment_s(a.min_segment);
    req.mutable_scene()->set_max_segment_s(a.max_segment);
  }
  grpc::ClientContext ctx;
  prepare(a, &ctx);
  auto reader = stub->Caption(&ctx, req);
  v1::CaptionSegment seg;
  while (reader->Read(&seg)) {
    if (a.json) {
      nlohmann::json j = {{"index", seg.index()},
                          {"start_s", seg.start_s()},
                          {"end_s", seg.end_s()},
                          {"text", seg.text()},
                          {"frames", seg.frames_used()},
                          {"finish_reason", seg.finish_reason()},
                          {"scene_score", seg.scene_score()}};
      std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    } else {
      std::cout << "[" << seg.start_s() << "s - " << seg.end_s() << "s] " << seg.text()
                << std::endl;
    }
  }
  grpc::Status s = reader->Finish();
  return s.ok() ? 0 : fail_rpc("caption", s);
}

int run_health(const ClientArgs& a) {
  auto status = vamba::service::check_health(
      make_channel(a), a.service,
      std::chrono::milliseconds(static_cast<int64_t>((a.timeout_s > 0 ? a.timeout_s : 5) * 1000)));
  if (!status.ok()) return vamba::cli::fail("client health", status.status().to_string());
  std::cout << vamba::service::health_status_name(*status) << std::endl;
  return *status == vamba::service::HealthStatus::kServing ? 0 : 1;
}

void add_common(CLI::App* app, ClientArgs* a) {
  app->add_option("--server", a->server, "host:port of vamba serve")->capture_default_str();
  app->add_option("--auth-token", a->auth_token, "Bearer token (vamba serve --auth-token)");
  app->add_option("--timeout", a->timeout_s, "Deadline in seconds (0: none)");
  app->add_flag("--json", a->json, "Machine-readable output");
}

void add_video(CLI::App* app, ClientArgs* a) {
  app->add_option("--video", a->video, "Path or URL the SERVER opens");
  app->add_option("--file", a->file, "Local file sent inline (or uploaded first with --upload)");
  app->add_flag("--upload", a->upload, "Upload --file in chunks, then refer to it by id");
  app->add_option("--video-id", a->video_id, "Id from upload or encode");
  app->add_option("--frames", a->frames, "Frames sampled uniformly (0: server default)");
  app->add_option("--fps", a->fps, "Sample at this rate instead of --frames");
  app->add_option("--max-frames", a->max_frames, "Cap with --fps");
  app->add_option("--start", a->start, "Start of the time range, seconds");
  app->add_option("--end", a->end, "End of the time range, seconds (0: end of video)");
  app->add_option("--shortest-edge", a->shortest, "Pre-resize shortest edge (0: default)");
  app->add_option("--longest-edge", a->longest, "Pre-resize longest edge (0: default)");
}

void add_generation(CLI::App* app, ClientArgs* a) {
  app->add_option("--max-new-tokens", a->max_tokens, "Answer length limit (0: server default)");
  app->add_option("--temperature", a->temperature, "0 = greedy");
  app->add_option("--top-p", a->top_p, "Nucleus sampling (0: off)");
  app->add_option("--top-k", a->top_k, "Top-k sampling (0: off)");
  app->add_option("--seed", a->seed, "Sampler seed");
  app->add_option("--stop", a->stop, "Stop string (repeatable)");
}

vamba::cli::RunFn setup_client(CLI::App& sub) {
  auto a = std::make_shared<ClientArgs>();
  sub.require_subcommand(1);
  auto* ask = sub.add_subcommand("ask", "Ask a question; streams the answer");
  add_common(ask, a.get());
  add_video(ask, a.get());
  add_generation(ask, a.get());
  ask->add_option("-q,--question", a->question, "The question")->required();
  auto* encode = sub.add_subcommand("encode", "Encode a video once; prints its id");
  add_common(encode, a.get());
  add_video(encode, a.get());
  auto* up = sub.add_subcommand("upload", "Upload a local file; prints its id");
  add_common(up, a.get());
  up->add_option("--file", a->file, "Local video file")->required();
  up->add_option("--chunk-kb", a->chunk_kb, "Chunk size in KiB")->capture_default_str();
  auto* del = sub.add_subcommand("delete", "Forget a kept video");
  add_common(del, a.get());
  del->add_option("--video-id", a->video_id, "Id to forget")->required();
  auto* cap = sub.add_subcommand("caption", "Caption segments (fixed or scenes); streams them");
  add_common(cap, a.get());
  add_video(cap, a.get());
  add_generation(cap, a.get());
  cap->add_option("--segment", a->segment_s, "Segment length, seconds")->capture_default_str();
  cap->add_flag("--scenes", a->scenes, "Cut at scene changes instead of every --segment seconds");
  cap->add_option("--scene-threshold", a->scene_threshold,
                  "Scene cut threshold in (0, 1) (0: server default 0.3)");
  cap->add_option("--scene-fps", a->scene_fps, "Frames per second examined (0: default 2)");
  cap->add_option("--min-segment", a->min_segment, "Shortest scene segment, s (0: default 1)");
  cap->add_option("--max-segment", a->max_segment, "Longest scene segment, s (0: no limit)");
  cap->add_option("--prompt", a->question, "Prompt per segment (default: describe it)");
  auto* health = sub.add_subcommand("health", "grpc.health.v1 check; exit 0 when SERVING");
  add_common(health, a.get());
  health->add_option("--service", a->service, "Service name (default: the whole server)");
  return [a, ask, encode, up, del, cap, health]() -> int {
    if (ask->parsed()) return run_ask(*a);
    if (encode->parsed()) return run_encode(*a);
    if (up->parsed()) return run_upload(*a);
    if (del->parsed()) return run_delete(*a);
    if (cap->parsed()) return run_caption(*a);
    if (health->parsed()) return run_health(*a);
    return 2;
  };
}

const bool registered = vamba::cli::register_command(
    {"client", "Talk to vamba serve (ask, encode, upload, delete, caption, health)",
     &setup_client});

}  // namespace
