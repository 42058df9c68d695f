"""Reading tools' server side: measurements and annotations saved per user."""
