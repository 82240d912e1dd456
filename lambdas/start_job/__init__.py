"""The intake trigger of the job workflow: a manifest dropped into intake starts one job."""
