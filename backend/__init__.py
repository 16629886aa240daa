"""ChatKit Desktop's local server: ChatKit protocol, JSON thread store, settings and keys, security."""

import os

# Set before litellm or the Agents SDK can be imported anywhere in the process:
# LiteLLM must use its bundled model map (no download at import) and never load a `.env` from the working
# directory; the Agents SDK must not export traces (conversation content) to OpenAI.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_MODE"] = "PRODUCTION"
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
os.environ["OPENAI_AGENTS_DONT_LOG_MODEL_DATA"] = "1"
os.environ["OPENAI_AGENTS_DONT_LOG_TOOL_DATA"] = "1"
