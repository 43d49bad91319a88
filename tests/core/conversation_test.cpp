// Conversation: assembling prompts and streamed answers into messages.
#include "holdfast/conversation.hpp"
#include "holdfast/json.hpp"

#include <gtest/gtest.h>

namespace holdfast::client {
namespace {

proto::event ev(std::uint64_t serial, std::string kind, std::string msg_id, std::string payload_json,
                std::string agent = "agent-a") {
    return proto::event{serial, 1000 + serial, "producer", std::move(kind), std::move(msg_id), std::move(agent),
                        proto::raw_value{json::to_msgpack(payload_json).value()}};
}

TEST(conversation, prompt_then_streamed_answer_assembles_two_messages) {
    conversation c;
    EXPECT_EQ(c.apply(ev(1, "user.prompt", "p-1", R"({"text":"hi"})", "")), 0u);
    EXPECT_EQ(c.apply(ev(2, "message.start", "r-1", R"({"role":"assistant"})")), 1u);
    EXPECT_EQ(c.apply(ev(3, "message.delta", "r-1", R"({"text":"Hel"})")), 1u);
    EXPECT_EQ(c.messages()[1].status, message_status::streaming);
    EXPECT_EQ(c.apply(ev(4, "message.delta", "r-1", R"({"text":"lo"})")), 1u);
    EXPECT_EQ(c.apply(ev(5, "message.end", "r-1", R"({"status":"complete"})")), 1u);
    ASSERT_EQ(c.messages().size(), 2u);
    const auto& prompt = c.messages()[0];
    EXPECT_EQ(prompt.role, "user");
    EXPECT_EQ(prompt.text, "hi");
    EXPECT_EQ(prompt.status, message_status::complete);
    const auto& answer = c.messages()[1];
    EXPECT_EQ(answer.id, "r-1");
    EXPECT_EQ(answer.role, "assistant");
    EXPECT_EQ(answer.agent, "agent-a");
    EXPECT_EQ(answer.text, "Hello");
    EXPECT_EQ(answer.status, message_status::complete);
    EXPECT_EQ(answer.first_serial, 2u);
    EXPECT_EQ(answer.last_serial, 5u);
}

TEST(conversation, prompt_without_msg_id_gets_an_id_from_its_serial) {
    conversation c;
    c.apply(ev(7, "user.prompt", "", R"({"text":"x"})"));
    EXPECT_EQ(c.messages().at(0).id, "prompt-7");
}

TEST(conversation, two_agents_interleaving_assemble_two_intact_messages) {
    conversation c;
    c.apply(ev(1, "message.start", "a", "{}", "researcher"));
    c.apply(ev(2, "message.start", "b", "{}", "writer"));
    c.apply(ev(3, "message.delta", "a", R"({"text":"A1 "})", "researcher"));
    c.apply(ev(4, "message.delta", "b", R"({"text":"B1 "})", "writer"));
    c.apply(ev(5, "message.delta", "a", R"({"text":"A2"})", "researcher"));
    c.apply(ev(6, "message.delta", "b", R"({"text":"B2"})", "writer"));
    ASSERT_EQ(c.messages().size(), 2u);
    EXPECT_EQ(c.messages()[0].text, "A1 A2");
    EXPECT_EQ(c.messages()[0].agent, "researcher");
    EXPECT_EQ(c.messages()[1].text, "B1 B2");
    EXPECT_EQ(c.messages()[1].agent, "writer");
}

TEST(conversation, end_status_and_reason_are_kept_and_late_deltas_ignored) {
    conversation c;
    c.apply(ev(1, "message.start", "r", "{}"));
    c.apply(ev(2, "message.delta", "r", R"({"text":"partial"})"));
    c.apply(ev(3, "message.end", "r", R"({"status":"cancelled","reason":"user"})"));
    EXPECT_EQ(c.apply(ev(4, "message.delta", "r", R"({"text":" more"})")), conversation::npos);
    EXPECT_EQ(c.apply(ev(5, "message.end", "r", R"({"status":"complete"})")), conversation::npos);
    EXPECT_EQ(c.messages()[0].text, "partial");
    EXPECT_EQ(c.messages()[0].status, message_status::cancelled);
    EXPECT_EQ(c.messages()[0].reason, "user");
    c.apply(ev(6, "message.start", "e", "{}"));
    c.apply(ev(7, "message.end", "e", R"({"status":"error","reason":"agent_lost"})"));
    EXPECT_EQ(c.messages()[1].status, message_status::error);
}

TEST(conversation, deltas_without_a_start_still_form_a_message) {
    conversation c;
    c.apply(ev(1, "message.delta", "r", R"("plain string payload")"));
    ASSERT_EQ(c.messages().size(), 1u);
    EXPECT_EQ(c.messages()[0].text, "plain string payload");
    EXPECT_EQ(c.messages()[0].role, "assistant");
}

TEST(conversation, other_kinds_do_not_touch_messages) {
    conversation c;
    EXPECT_EQ(c.apply(ev(1, "status", "", R"({"state":"thinking"})")), conversation::npos);
    EXPECT_EQ(c.apply(ev(2, "tool.call", "t", R"({"name":"search"})")), conversation::npos);
    EXPECT_EQ(c.apply(ev(3, "message.delta", "", R"({"text":"orphan"})")), conversation::npos);
    EXPECT_TRUE(c.messages().empty());
}

TEST(conversation, message_json_has_the_api_shape) {
    conversation c;
    c.apply(ev(1, "user.prompt", "p", R"({"text":"say \"hi\""})", ""));
    std::string out;
    append_message_json(c.messages()[0], 0, out);
    EXPECT_EQ(out, R"({"index":0,"id":"p","role":"user","agent":"","text":"say \"hi\"","status":"complete","reason":"","firstSerial":1,"lastSerial":1})");
}

} // namespace
} // namespace holdfast::client
